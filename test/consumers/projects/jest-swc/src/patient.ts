import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Encrypted } from 'typeorm-sealed';

@Entity('jest_consumer_patient')
export class Patient {
  @PrimaryGeneratedColumn() id!: number;
  @Column() ward!: string;
  @Encrypted({ index: true }) email!: string; // searchable through sealedRepository
  @Encrypted() bornOn!: Date; // a Date, from the metadata @swc/jest emits
}
