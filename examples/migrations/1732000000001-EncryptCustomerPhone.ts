import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { KeyRotator } from 'typeorm-sealed';

/**
 * Turns on encryption for customer.phone, whose entity property is now `@Encrypted()`:
 * widens the column to text (a varchar(20) cannot hold an envelope), then seals every existing
 * plaintext value, inside the migration's transaction.
 */
export class EncryptCustomerPhone1732000000001 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.changeColumn('customer', 'phone', new TableColumn({ name: 'phone', type: 'text' }));
    const report = await KeyRotator.forMigration(queryRunner).encryptExisting();
    if (report.status !== 'complete') throw new Error(`encryptExisting ${report.status}: ${JSON.stringify(report.failures)}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const report = await KeyRotator.forMigration(queryRunner).decryptAll();
    if (report.status !== 'complete') throw new Error(`decryptAll ${report.status}: ${JSON.stringify(report.failures)}`);
    await queryRunner.changeColumn('customer', 'phone', new TableColumn({ name: 'phone', type: 'varchar', length: '20' }));
  }
}
