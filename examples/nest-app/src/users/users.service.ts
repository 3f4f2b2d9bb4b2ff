import { Injectable } from '@nestjs/common';
import { Repository } from 'typeorm';
import { InjectSealedRepository } from 'typeorm-sealed/nest';
import { User } from './user.entity.js';

@Injectable()
export class UsersService {
  constructor(@InjectSealedRepository(User) private readonly users: Repository<User>) {}

  create(name: string, email: string): Promise<User> {
    return this.users.save(this.users.create({ name, email }));
  }

  findById(id: number): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  /** Through the blind index: the address as typed, normalised as the index declares. */
  findByEmail(email: string): Promise<User[]> {
    return this.users.findBy({ email });
  }
}
