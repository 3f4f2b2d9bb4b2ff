// @Encrypted() without valueType: tsc emits design:type, so the type is inferred; tsx emits none.
import 'reflect-metadata';
import { Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Encrypted } from 'typeorm-sealed';

@Entity()
export class Inferred {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted() secret!: string;
}
console.log('declared');
