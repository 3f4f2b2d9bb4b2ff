import type { MigrationInterface, QueryRunner } from 'typeorm';
import { KeyRotator } from 'typeorm-sealed';

/**
 * Re-seals every encrypted column under the active key. Deploy the new ring first
 * (TYPEORM_SEALED_KEYS="<new>,<old>"), then run this migration; remove the old key once
 * `typeorm-sealed census` shows no value under it.
 */
export class RotateKeys1732000000002 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    const report = await KeyRotator.forMigration(queryRunner).rotate();
    if (report.status !== 'complete') throw new Error(`rotate ${report.status}: ${JSON.stringify(report.failures)}`);
  }

  async down(): Promise<void> {
    // Nothing to undo: values under the new key open with the same ring.
  }
}
