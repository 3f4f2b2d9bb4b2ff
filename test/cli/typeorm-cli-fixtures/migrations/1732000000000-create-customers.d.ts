/** Types of 1732000000000-create-customers.js, for the TypeScript test that reads its PHONES. */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export declare const PHONES: readonly string[];
export declare class CreateCustomers1732000000000 implements MigrationInterface {
  up(queryRunner: QueryRunner): Promise<void>;
  down(queryRunner: QueryRunner): Promise<void>;
}
