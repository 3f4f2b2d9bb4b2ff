import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The application as it was before encryption: phone numbers in a plain varchar column. */
export class CreateCustomers1732000000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE TABLE customer (id integer PRIMARY KEY AUTOINCREMENT, name varchar(100) NOT NULL, phone varchar(20) NOT NULL)');
    await queryRunner.query("INSERT INTO customer (name, phone) VALUES ('Grace', '+1 555 0100'), ('Linus', '+358 40 123'), ('Ada', '+44 20 7946')");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE customer');
  }
}
