// The application's entity once phone numbers are encrypted (plain JavaScript, decorators applied
// as functions). The table itself is created by the first migration, as a plain varchar column.
require('reflect-metadata');
const { Column, Entity, PrimaryGeneratedColumn } = require('typeorm');
const { Encrypted } = require('typeorm-sealed');

class Customer {}
Entity('customer')(Customer);
PrimaryGeneratedColumn()(Customer.prototype, 'id');
Column({ type: 'varchar', length: 100 })(Customer.prototype, 'name');
Encrypted({ valueType: 'string' })(Customer.prototype, 'phone');

module.exports = { Customer };
