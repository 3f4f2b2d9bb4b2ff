import { Column, Entity, ManyToOne, OneToMany, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { Encrypted, sealedLength } from 'typeorm-sealed';

export class Address {
  @Encrypted({ nullable: true, valueType: 'string' })
  street!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  city!: string | null;
}

/** Every value type, plus an embedded encrypted column and a plain unique column. */
@Entity('sealed_user')
export class User {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 64, unique: true })
  login!: string;

  @Encrypted()
  email!: string;

  @Encrypted({ nullable: true, valueType: 'number' })
  score!: number | null;

  @Encrypted({ nullable: true, valueType: 'bigint' })
  balance!: bigint | null;

  @Encrypted({ nullable: true, valueType: 'boolean' })
  verified!: boolean | null;

  @Encrypted({ nullable: true, valueType: 'date' })
  birthday!: Date | null;

  @Encrypted({ nullable: true, valueType: 'json' })
  settings!: { theme: string; tags: string[] } | null;

  @Encrypted({ nullable: true, valueType: 'bytes' })
  avatar!: Buffer | null;

  @Column(() => Address)
  address!: Address;

  @OneToMany(() => Note, (note) => note.author)
  notes!: Note[];
}

@Entity('sealed_note')
export class Note {
  @PrimaryGeneratedColumn()
  id!: number;

  @Encrypted()
  body!: string;

  @ManyToOne(() => User, (user) => user.notes, { eager: true, nullable: true })
  author!: User | null;
}

/** An encrypted column declared on a base class. */
export abstract class Secretive {
  @Encrypted()
  secret!: string;
}

@Entity('sealed_child')
export class Child extends Secretive {
  @PrimaryGeneratedColumn()
  id!: number;

  /** Sized for values of up to 16 bytes. */
  @Encrypted({ type: 'varchar', length: sealedLength(16), nullable: true, valueType: 'string' })
  pin!: string | null;

  /** No length: the driver's default (255 on MySQL/MariaDB, unlimited on PostgreSQL and SQLite). */
  @Encrypted({ type: 'varchar', nullable: true, valueType: 'string' })
  memo!: string | null;
}

/** A composite primary key: the rotator pages and compares on both columns. */
@Entity('sealed_membership')
export class Membership {
  @PrimaryColumn({ type: 'int' })
  orgId!: number;

  @PrimaryColumn({ type: 'varchar', length: 32 })
  member!: string;

  @Encrypted({ valueType: 'string' })
  role!: string;
}

export const ENTITIES = [User, Note, Child, Membership];
