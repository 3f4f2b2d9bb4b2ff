import { EntitySchema, type DataSource } from 'typeorm';
import {
  Encrypted,
  encryptedColumn,
  generateKey,
  KeyRing,
  KeyRotator,
  SealedError,
  sealedEntitySchema,
  sealedRepository,
  sealedSubscriber,
} from 'typeorm-sealed';
import { openDataSource, rawColumn, testDialects } from './support/dialects';

interface Patient {
  id: number;
  name: string;
  email: string;
  birthday: Date | null;
  notes: { allergies: string[] } | null;
}

const PatientSchema = sealedEntitySchema<Patient>({
  name: 'Patient',
  tableName: 'sealed_patient',
  columns: {
    id: { type: Number, primary: true, generated: true },
    name: { type: String, length: 40 },
    email: encryptedColumn({ index: { unique: true, normalize: ['trim', 'lowercase'] } }),
    birthday: encryptedColumn({ valueType: 'date', nullable: true }),
    notes: encryptedColumn({ valueType: 'json', nullable: true }),
  },
});

const [oldKey, newKey] = [generateKey(), generateKey()];
const indexKeys = new KeyRing({ active: generateKey() });

describe.each(testDialects())('EntitySchema entities on %s', (dialect) => {
  let ds: DataSource;

  beforeAll(async () => {
    ds = await openDataSource(dialect, [PatientSchema], [sealedSubscriber({ keys: new KeyRing({ active: oldKey }), indexKeys })]);
  });
  afterAll(() => ds?.destroy());

  it('seals encryptedColumn fields on write, opens them on read, and finds them by plaintext through the blind index', async () => {
    const repository = ds.getRepository(PatientSchema);
    const birthday = new Date('1980-02-03T04:05:06.789Z');
    await repository.save({ name: 'ada', email: 'Ada@Example.com', birthday, notes: { allergies: ['penicillin'] } });
    await repository.save({ name: 'bob', email: 'bob@example.com', birthday: null, notes: null });
    const stored = (await rawColumn(ds, 'sealed_patient', 'email')) as string[];
    expect(stored.every((value) => value.startsWith('sealed:1:x:'))).toBe(true);
    expect(JSON.stringify(await rawColumn(ds, 'sealed_patient', 'notes'))).not.toContain('penicillin');
    const ada = await sealedRepository(repository).findOneByOrFail({ email: '  ADA@example.com' });
    expect(ada).toMatchObject({ name: 'ada', email: 'Ada@Example.com', birthday, notes: { allergies: ['penicillin'] } });
    expect(await repository.findOneByOrFail({ name: 'bob' })).toMatchObject({ birthday: null, notes: null });
    await expect(repository.findOneBy({ email: 'bob@example.com' })).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_QUERY' });
    await expect(repository.save({ name: 'ada2', email: 'ada@example.com ' })).rejects.toThrow();
  });

  it('rotates under a new key with the KeyRotator', async () => {
    const report = await new KeyRotator(ds, { keys: new KeyRing({ active: newKey, decryptOnly: [oldKey] }) }).rotate();
    expect(report.columns.map((c) => `${c.entity}.${c.column}`).sort()).toEqual(['Patient.birthday', 'Patient.email', 'Patient.notes']);
    expect(report.columns.find((c) => c.column === 'email')).toMatchObject({ rewritten: 2, failed: 0 });
    const newId = new KeyRing({ active: newKey }).activeKeyId;
    expect(((await rawColumn(ds, 'sealed_patient', 'email')) as string[]).every((value) => value.startsWith(`sealed:1:x:${newId}:`))).toBe(true);
  });
});

describe('EntitySchema declarations', () => {
  const keys = new KeyRing({ active: generateKey() });

  it('refuses at the first event a schema built with new EntitySchema around an encryptedColumn', async () => {
    const Unwired = new EntitySchema<{ id: number; secret: string }>({
      name: 'Unwired',
      columns: { id: { type: Number, primary: true, generated: true }, secret: encryptedColumn() },
    });
    const ds = await openDataSource('sqlite', [Unwired], [sealedSubscriber({ keys })], ':memory:', { synchronize: false, dropSchema: false });
    try {
      const error = await ds
        .getRepository(Unwired)
        .save({ secret: 'top secret' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SealedError);
      expect(error).toMatchObject({ code: 'SEALED_CONFIG', entity: 'Unwired', column: 'secret' });
      expect((error as Error).message).toContain('make the schema with sealedEntitySchema({ ... }) instead of new EntitySchema({ ... })');
    } finally {
      await ds.destroy();
    }
    // Without a sealed subscriber, its fail-closed transformer refuses the value and names the fix.
    const plain = await openDataSource('sqlite', [Unwired], []);
    try {
      await expect(plain.getRepository(Unwired).save({ secret: 'top secret' })).rejects.toMatchObject({
        code: 'SEALED_CONFIG',
        message: expect.stringContaining('in a schema made with new EntitySchema(...) is not encrypted: make the schema with sealedEntitySchema(...)'),
      });
      expect(await rawColumn(plain, 'unwired', 'secret')).toEqual([]);
    } finally {
      await plain.destroy();
    }
  });

  it('refuses a plain EntitySchema that declares again, without encryption, a field its class encrypts', async () => {
    class Memo {
      id!: number;
      @Encrypted() body!: string;
    }
    const Plain = new EntitySchema<Memo>({
      name: 'Memo',
      target: Memo,
      columns: { id: { type: Number, primary: true, generated: true }, body: { type: 'text' } },
    });
    await expect(openDataSource('sqlite', [Plain], [sealedSubscriber({ keys })])).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      entity: 'Memo',
      column: 'body',
      message: expect.stringContaining('declare it with encryptedColumn(...) in sealedEntitySchema(...)'),
    });
  });

  it('refuses a copy of an encryptedColumn, and checks its options as @Encrypted does, naming schema and column', () => {
    const schema = (column: unknown) => () =>
      sealedEntitySchema({ name: 'Bad', columns: { id: { type: Number, primary: true }, secret: column as ReturnType<typeof encryptedColumn> } });
    expect(schema({ ...encryptedColumn(), type: 'int' })).toThrow('SEALED_CONFIG: Bad.secret: encryptedColumn(...) takes its options as its argument');
    expect(schema(encryptedColumn({ unique: true } as never))).toThrow('Bad.secret: encryptedColumn does not take option "unique"');
    expect(schema(encryptedColumn({ type: 'int' as never }))).toThrow('column type "int" cannot hold an envelope');
    expect(schema(encryptedColumn({ index: true, scope: 'tenantId' }))).toThrow('a field with a scope cannot have a blind index');
    expect(() =>
      sealedEntitySchema({
        name: 'Taken',
        columns: { id: { type: Number, primary: true }, secret: encryptedColumn({ index: true }), secretBlindIndex: { type: String } },
      }),
    ).toThrow('the blind index property secretBlindIndex is already a column of the schema');
  });
});
