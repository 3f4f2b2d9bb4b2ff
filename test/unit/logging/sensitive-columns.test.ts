import type { DataSource, EntityMetadata } from 'typeorm';
import { registerSealedProperty } from '../../../src/metadata/registry';
import { sensitiveColumnsOf } from '../../../src/logging/sensitive-columns';

class Card {}
registerSealedProperty(Card, 'number', {
  valueType: 'string',
  boundTo: {},
  index: { property: 'numberIndex', bits: 128, unique: false, slowLogN: undefined, normalize: (v) => v },
});
const column = (propertyName: string, databaseName = propertyName) => ({ target: Card, propertyName, propertyPath: propertyName, databaseName });
const card = { name: 'Card', tableName: 'Cards', columns: [column('id'), column('number'), column('numberIndex', 'number_index')], primaryColumns: [] };
const plain = { name: 'Log', tableName: 'log', columns: [{ ...column('number'), target: class Log {} }], primaryColumns: [] };
const scope = (tables: string[], aliases: Record<string, string[]> = {}) => ({
  tables: new Set(tables),
  aliases: new Map(Object.entries(aliases).map(([alias, names]) => [alias, new Set(names)])),
});

describe('sensitiveColumnsOf', () => {
  it('holds the encrypted and blind index columns of each table, in lower case', () => {
    const columns = sensitiveColumnsOf({ entityMetadatas: [card, plain] as unknown as EntityMetadata[] } as DataSource);
    expect(columns.includes({ qualifier: 'c', column: 'number_index' }, scope(['cards'], { c: ['cards'] }))).toBe(true);
    expect(columns.includes({ qualifier: 'c', column: 'id' }, scope(['cards'], { c: ['cards'] }))).toBe(false);
    expect(columns.includes({ column: 'number' }, scope(['log']))).toBe(false);
    expect(columns.includes({ column: 'number' }, scope(['log', 'cards']))).toBe(true);
    expect(columns.includes({ column: 'number' }, scope(['archive']))).toBe(true);
    expect(columns.includes({ qualifier: 'z', column: 'number' }, scope(['log']))).toBe(true);
    expect(columns.mentionedIn('SELECT * FROM CARDS')).toBe(true);
    expect(columns.mentionedIn('SELECT * FROM log')).toBe(false);
  });

  it('reads the metadata again once TypeORM has built it anew', () => {
    const dataSource = { entityMetadatas: [] as unknown[] };
    expect(sensitiveColumnsOf(dataSource as DataSource).mentionedIn('SELECT number FROM cards')).toBe(false);
    dataSource.entityMetadatas = [card];
    expect(sensitiveColumnsOf(dataSource as DataSource).mentionedIn('SELECT number FROM cards')).toBe(true);
  });
});
