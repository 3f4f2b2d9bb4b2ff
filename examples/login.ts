// Login by e-mail address with the address encrypted, on embedded SQLite: a unique, normalised
// blind index finds the account from the address as typed and makes the database refuse a second
// account for the same address. Run with: npm run build && tsc -p tsconfig.examples.json && node build/examples/login.js
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import 'reflect-metadata';
import { Column, DataSource, Entity, PrimaryGeneratedColumn, QueryFailedError } from 'typeorm';
import { Encrypted, generateKey, KeyRing, SealedError, sealedRepository, sealedSubscriber } from 'typeorm-sealed';

@Entity()
class Member {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  // Stored sealed as typed; indexed trimmed and lower-cased, so ' Ada@Example.com' finds 'ada@example.com'.
  @Encrypted({ index: { normalize: ['trim', 'lowercase', 'nfc'], unique: true } })
  email!: string;

  @Column({ type: 'varchar', length: 200 })
  passwordHash!: string;
}

// A password hash for the demo: scrypt with a random salt, from node:crypto.
const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;
async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt:${salt.toString('hex')}:${(await scryptAsync(password, salt, 32)).toString('hex')}`;
}
async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [, salt, hash] = stored.split(':');
  return timingSafeEqual(await scryptAsync(password, Buffer.from(salt!, 'hex'), 32), Buffer.from(hash!, 'hex'));
}

/** Runs the example, printing through `log`. */
export async function main(log: (line: string) => void = console.log): Promise<void> {
  // In production: keys: KeyRing.fromEnv(), indexKeys: KeyRing.fromEnv('TYPEORM_SEALED_INDEX_KEYS').
  // The index keys are keys of their own: sealedSubscriber refuses a key that is in both rings.
  const keys = new KeyRing({ active: generateKey() });
  const indexKeys = new KeyRing({ active: generateKey() });
  const dataSource = await new DataSource({
    type: 'better-sqlite3',
    database: ':memory:',
    entities: [Member],
    subscribers: [sealedSubscriber({ keys, indexKeys })],
    synchronize: true, // creates the emailBlindIndex column and its unique index too
  }).initialize();
  const plain = dataSource.getRepository(Member);
  const members = sealedRepository(plain); // find*, count*, exists* take plaintext for indexed fields

  const signUp = async (name: string, email: string, password: string) => plain.save(plain.create({ name, email, passwordHash: await hashPassword(password) }));
  await signUp('Ada', 'Ada@Example.com', 'analytical engine');
  await signUp('Grace', 'grace@example.com', 'compiler');
  log('signed up: Ada <Ada@Example.com>, Grace <grace@example.com>');

  log('\nA second sign-up with the same address, typed differently, is refused by the database:');
  try {
    await signUp('Impostor', '  ada@EXAMPLE.com ', 'guess');
  } catch (e) {
    if (!(e instanceof QueryFailedError)) throw e;
    log(`  ${e.name} ${(e.driverError as { code?: string }).code}; members: ${await plain.count()}`);
  }

  log('\nLogin finds the member from the address as typed, then checks the password:');
  const login = async (email: string, password: string) => {
    const member = await members.findOneBy({ email });
    return member && (await checkPassword(password, member.passwordHash)) ? `welcome, ${member.name} <${member.email}>` : 'wrong e-mail or password';
  };
  log(`  'ADA@example.com ' + right password: ${await login('ADA@example.com ', 'analytical engine')}`);
  log(`  'ada@example.com' + wrong password:  ${await login('ada@example.com', 'compiler')}`);
  log(`  'alan@example.com':                  ${await login('alan@example.com', 'compiler')}`);

  log('\nAt rest (plain SQL): the address sealed, its index a keyed hash under the index key:');
  for (const row of await dataSource.query('SELECT id, email, emailBlindIndex FROM member ORDER BY id')) {
    log(`  ${row.id} email:           ${row.email}\n    emailBlindIndex: ${row.emailBlindIndex}`);
  }
  log(`  (index key ${indexKeys.activeKeyId}, encryption key ${keys.activeKeyId})`);

  log('\nA plain findOneBy on the encrypted field is refused, naming the way to search it:');
  try {
    await plain.findOneBy({ email: 'ada@example.com' });
  } catch (e) {
    if (!(e instanceof SealedError)) throw e;
    log(`  ${e.message}`);
  }

  await dataSource.destroy();
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
