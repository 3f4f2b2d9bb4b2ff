// The application before encryption: phone numbers as plaintext in a varchar(20) column. The
// INSERTs pass the phones as parameters, so TypeORM's query log shows them: the test checks that
// it does here, which shows that its "no plaintext in the log" checks of later runs can fail.
const PHONES = ['+1 555 0100', '+358 40 123 4567', '+44 20 7946 0958'];

class CreateCustomers1732000000000 {
  async up(queryRunner) {
    await queryRunner.query('CREATE TABLE customer (id integer PRIMARY KEY AUTOINCREMENT, name varchar(100) NOT NULL, phone varchar(20) NOT NULL)');
    for (const [i, phone] of PHONES.entries()) await queryRunner.query('INSERT INTO customer (name, phone) VALUES (?, ?)', [`customer ${i + 1}`, phone]);
  }

  async down(queryRunner) {
    await queryRunner.query('DROP TABLE customer');
  }
}

module.exports = { CreateCustomers1732000000000, PHONES };
