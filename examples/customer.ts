import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Encrypted } from 'typeorm-sealed';

/** The entity of the adoption examples: `phone` was a plain text column and is now encrypted. */
@Entity()
export class Customer {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Encrypted()
  phone!: string;
}
