// Re-seals every encrypted value under the active key, run once TYPEORM_SEALED_KEYS="<new>,<old>".
const { KeyRotator } = require('typeorm-sealed');

class RotateKeys1732000000002 {
  async up(queryRunner) {
    const report = await KeyRotator.forMigration(queryRunner).rotate();
    if (report.status !== 'complete') throw new Error(`rotate ${report.status}: ${JSON.stringify(report.failures)}`);
  }

  async down() {
    // Nothing to undo: values under the new key open with the same ring.
  }
}

module.exports = { RotateKeys1732000000002 };
