import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { KeyRotator, widenColumn } from 'typeorm-sealed';

/**
 * Turns on encryption for customer.phone, whose entity property is now `@Encrypted()`:
 * widens the column to text in place (a varchar(20) cannot hold an envelope; TypeORM's
 * changeColumn would drop and re-add it on PostgreSQL and MySQL, losing every value), then seals
 * every existing plaintext value, inside the migration's transaction.
 */
export class EncryptCustomerPhone1732000000001 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await widenColumn(queryRunner, 'customer', 'phone');
    const report = await KeyRotator.forMigration(queryRunner).encryptExisting();
    if (report.status !== 'complete') throw new Error(`encryptExisting ${report.status}: ${JSON.stringify(report.failures)}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const report = await KeyRotator.forMigration(queryRunner).decryptAll();
    if (report.status !== 'complete') throw new Error(`decryptAll ${report.status}: ${JSON.stringify(report.failures)}`);
    // Narrowing back is safe with changeColumn on SQLite only (it copies rows); on PostgreSQL and
    // MySQL use ALTER COLUMN ... TYPE / MODIFY by hand.
    await queryRunner.changeColumn('customer', 'phone', new TableColumn({ name: 'phone', type: 'varchar', length: '20' }));
  }
}
