import { Column, Entity, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Encrypted } from 'typeorm-sealed';

export class Contact {
  @Encrypted({ nullable: true, valueType: 'string', index: { normalize: ['trim', 'lowercase'] } })
  phone!: string | null;
}

/** A login by e-mail: a unique, normalised, full-length blind index. */
@Entity('sealed_account')
export class Account {
  @PrimaryGeneratedColumn() id!: number;

  @Column({ type: 'varchar', length: 40, unique: true }) login!: string;

  @Encrypted({ nullable: true, valueType: 'string', index: { normalize: ['trim', 'lowercase', 'nfc'], unique: true } })
  email!: string | null;

  /** Equal plaintext in another column must not share index values. */
  @Encrypted({ nullable: true, valueType: 'string', index: { normalize: ['trim', 'lowercase', 'nfc'] } })
  backupEmail!: string | null;

  @Column(() => Contact) contact!: Contact;

  /** Not selected by default, but searchable. */
  @Encrypted({ nullable: true, valueType: 'string', select: false, index: true }) apiToken?: string | null;
}

/** A truncated index (8 bits: 256 buckets), so lookups meet false positives. */
@Entity('sealed_tagged')
export class Tagged {
  @PrimaryGeneratedColumn() id!: number;

  @Encrypted({ index: { bits: 8 } }) tag!: string;

  @Column({ type: 'int', default: 0 }) rank!: number;

  @ManyToOne(() => Account, { nullable: true, onDelete: 'SET NULL' }) owner?: Account | null;

  /** Encrypted, without an index. */
  @Encrypted({ nullable: true, valueType: 'string' }) note?: string | null;
}

export const INDEXED_ENTITIES = [Account, Tagged];
