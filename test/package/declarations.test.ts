// The shipped declarations (dist/*.d.ts, built by test/global-setup.js; typeorm-sealed/jest's
// too) compile for a user on either TypeORM line with full library checking (skipLibCheck: false).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const CONSUMER = `import 'reflect-metadata';
import { AdvancedConsoleLogger, DataSource, Entity, PrimaryGeneratedColumn, type QueryRunner } from 'typeorm';
import { Encrypted, KeyRing, KeyRotator, checkStoredKeyIds, encryptedColumn, generateKey, openRawRows, redactingLogger, sealedEntitySchema, sealedSubscriber, widenColumn, type RotationReport } from 'typeorm-sealed';
import { withTypeormSealed } from 'typeorm-sealed/jest';

@Entity()
export class User {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted() email!: string;
}
export const Note = sealedEntitySchema<{ id: number; body: string }>({ name: 'Note', columns: { id: { type: Number, primary: true }, body: encryptedColumn({ index: true }) } });
export const dataSource = new DataSource({
  type: 'postgres',
  entities: [User, Note],
  subscribers: [sealedSubscriber({ keys: new KeyRing({ active: generateKey() }), checkKeyIds: { sampleRows: 10 } })],
  logger: redactingLogger(new AdvancedConsoleLogger(['query', 'error']), { maskAll: false }),
});
export async function up(queryRunner: QueryRunner): Promise<RotationReport> {
  await widenColumn(queryRunner, 'user', 'email');
  openRawRows(dataSource, User, []);
  await checkStoredKeyIds(dataSource);
  return KeyRotator.forMigration(queryRunner).encryptExisting();
}
export const jestConfig = withTypeormSealed({ preset: 'ts-jest', projects: [{ displayName: 'unit' }] });
`;

describe.each([
  ['TypeORM 1.x', 'typeorm'],
  ['TypeORM 0.3', 'typeorm-03'],
])('the declarations compile with skipLibCheck: false against %s', (_line, typeormPackage) => {
  it('type-checks a consumer of every main export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealed-dts-'));
    try {
      writeFileSync(join(dir, 'consumer.ts'), CONSUMER);
      const typeorm = join(ROOT, 'node_modules', typeormPackage);
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            experimentalDecorators: true,
            emitDecoratorMetadata: true,
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'ES2022',
            types: ['node'],
            typeRoots: [join(ROOT, 'node_modules', '@types')],
            paths: {
              typeorm: [typeorm],
              'typeorm/*': [`${typeorm}/*`],
              'typeorm-sealed': [join(ROOT, 'dist', 'index.d.ts')],
              'typeorm-sealed/jest': [join(ROOT, 'dist', 'jest', 'index.d.ts')],
              'reflect-metadata': [join(ROOT, 'node_modules', 'reflect-metadata')],
            },
          },
          files: ['consumer.ts'],
        }),
      );
      const output = await new Promise<string>((resolve) =>
        execFile(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir }, (_error, stdout, stderr) =>
          resolve(stdout + stderr),
        ),
      );
      expect(output.trim()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
