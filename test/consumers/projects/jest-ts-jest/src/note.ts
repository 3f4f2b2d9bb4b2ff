import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Encrypted } from 'typeorm-sealed';

@Entity('jest_consumer_note')
export class Note {
  @PrimaryGeneratedColumn() id!: number;
  @Column() title!: string;
  @Encrypted() body!: string; // a string, from the metadata ts-jest emits
}
