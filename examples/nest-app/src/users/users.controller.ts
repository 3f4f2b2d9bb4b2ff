import { BadRequestException, Body, ConflictException, Controller, Get, NotFoundException, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { User } from './user.entity.js';
import { UsersService } from './users.service.js';

/** PostgreSQL's unique_violation: here, the e-mail address's unique blind index. */
const UNIQUE_VIOLATION = '23505';

@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  async create(@Body() body: { name?: unknown; email?: unknown }): Promise<User> {
    if (typeof body?.name !== 'string' || typeof body.email !== 'string') throw new BadRequestException('name and email must be strings');
    try {
      return await this.users.create(body.name, body.email);
    } catch (e) {
      if (e instanceof QueryFailedError && (e.driverError as { code?: string }).code === UNIQUE_VIOLATION) throw new ConflictException('e-mail address taken');
      throw e;
    }
  }

  @Get(':id')
  async get(@Param('id', ParseIntPipe) id: number): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundException();
    return user;
  }

  @Get()
  find(@Query('email') email?: string): Promise<User[]> {
    if (typeof email !== 'string') throw new BadRequestException('search by ?email=');
    return this.users.findByEmail(email);
  }
}
