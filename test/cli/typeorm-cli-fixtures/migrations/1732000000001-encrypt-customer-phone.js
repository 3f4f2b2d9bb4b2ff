// Adopts encryption: widens customer.phone to text in place, then seals every existing value with
// the keys of the data source file's sealedSubscriber (the CLI's DataSource has none).
const { KeyRotator, widenColumn } = require('typeorm-sealed');

class EncryptCustomerPhone1732000000001 {
  async up(queryRunner) {
    await widenColumn(queryRunner, 'customer', 'phone');
    const report = await KeyRotator.forMigration(queryRunner).encryptExisting();
    if (report.status !== 'complete') throw new Error(`encryptExisting ${report.status}: ${JSON.stringify(report.failures)}`);
  }

  async down(queryRunner) {
    const report = await KeyRotator.forMigration(queryRunner).decryptAll();
    if (report.status !== 'complete') throw new Error(`decryptAll ${report.status}: ${JSON.stringify(report.failures)}`);
  }
}

module.exports = { EncryptCustomerPhone1732000000001 };
