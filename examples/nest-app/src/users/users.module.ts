import { Module } from '@nestjs/common';
import { SealedTypeOrmModule } from 'typeorm-sealed/nest';
import { User } from './user.entity';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

@Module({
  imports: [SealedTypeOrmModule.forFeature([User])], // @InjectSealedRepository(User), and @InjectRepository(User)
  controllers: [UsersController],
  providers: [UsersService],
})
export class UsersModule {}
