import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Encrypted } from 'typeorm-sealed';

// Types given explicitly: tsx compiles this file too, and emits no design:type metadata.
@Entity('esm_consumer_note')
export class Note {
  @PrimaryGeneratedColumn() id!: number;
  @Column('text') title!: string;
  @Encrypted({ valueType: 'string' }) body!: string;
}
