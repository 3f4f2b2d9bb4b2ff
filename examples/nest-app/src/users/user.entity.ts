import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Encrypted } from 'typeorm-sealed';

@Entity('users')
export class User {
  @PrimaryGeneratedColumn() id!: number;

  @Column() name!: string;

  /** Sealed at rest; searchable and unique through a blind index of the normalised address. */
  @Encrypted({ index: { normalize: ['trim', 'lowercase', 'nfc'], unique: true } }) email!: string;
}
