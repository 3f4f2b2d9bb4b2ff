import { Module } from '@nestjs/common';
import { SealedTypeOrmModule } from 'typeorm-sealed/nest';
import { User } from './user.entity.js';
import { UsersController } from './users.controller.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [SealedTypeOrmModule.forFeature([User])], // @InjectSealedRepository(User), and @InjectRepository(User)
  controllers: [UsersController],
  providers: [UsersService],
})
export class UsersModule {}
