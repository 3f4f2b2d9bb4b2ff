// LoadedKeys: which keys each query runner may seal with, as transactions create, commit and roll back keys.
import type { DataSource } from 'typeorm';
import type { DataKeyRow } from '../../../src/vault/data-key-table';
import { LoadedKeys } from '../../../src/vault/loaded-keys';

const on = (type: string) => new LoadedKeys({ driver: { options: { type } } } as unknown as DataSource);
const row = (id: string, scope: string, state: DataKeyRow['state'] = 'active'): DataKeyRow =>
  ({ id, scope, state, generation: 1, wrapped: state === 'shredded' ? null : 'w', wrapped_by: 'local:x' }) as DataKeyRow;
const subkeys = (...ids: string[]) => new Map(ids.map((id) => [id, new Uint8Array(32)]));

describe('LoadedKeys', () => {
  it("keeps a key an open transaction created to that transaction's runner until its commit", () => {
    const keys = on('postgres');
    const [a, b] = [{}, {}];
    keys.take([row('00000001', '')], subkeys('00000001'));
    keys.addPending(a, 'acme', '0000000a');
    keys.take([row('0000000a', 'acme')], subkeys('0000000a'), a); // read back by its own runner
    expect(keys.activeKeyIdOf('acme', a)).toBe('0000000a');
    expect(keys.activeKeyIdOf('acme', b)).toBeUndefined();
    expect(keys.activeKeyIdOf('acme')).toBeUndefined();
    keys.confirm(a);
    expect(keys.activeKeyIdOf('acme', b)).toBe('0000000a');
    expect(keys.lists.active).toEqual(['00000001', '0000000a']);
  });

  it("forgets a rolled-back key, subkey and all; makes one another connection reads everyone's", () => {
    const keys = on('mariadb');
    const [a, b] = [{}, {}];
    keys.addPending(a, 'acme', '0000000a');
    keys.take([row('0000000a', 'acme')], subkeys('0000000a'), a);
    keys.forget(keys.lane(a), ['0000000a'], true);
    expect(keys.subkeys.has('0000000a')).toBe(false);
    expect(keys.activeKeyIdOf('acme', a)).toBeUndefined();
    keys.addPending(a, 'globex', '0000000b');
    keys.take([row('0000000b', 'globex')], subkeys('0000000b'), a);
    keys.take([row('0000000b', 'globex')], new Map(), b); // b's connection sees it: it committed
    expect(keys.activeKeyIdOf('globex', b)).toBe('0000000b');
    expect(keys.pendingOf(a)).toEqual([]);
  });

  it('shares pending keys between every runner of a single-connection database', () => {
    const keys = on('better-sqlite3');
    const [a, b] = [{}, {}];
    keys.addPending(a, 'acme', '0000000a');
    keys.take([row('0000000a', 'acme')], subkeys('0000000a'), b); // same connection, same transaction: still pending
    expect(keys.activeKeyIdOf('acme', b)).toBe('0000000a');
    expect(keys.activeKeyIdOf('acme')).toBeUndefined();
  });

  it('refuses two active keys in a scope, and takes shredding from the rows', () => {
    const keys = on('postgres');
    expect(() => keys.take([row('0000000a', 'acme'), row('0000000b', 'acme')], subkeys('0000000a', '0000000b'))).toThrow(
      expect.objectContaining({ code: 'SEALED_KEY_STORE', message: expect.stringContaining('"acme" has 2 active data keys') }),
    );
    keys.take([row('0000000a', 'acme')], subkeys('0000000a'));
    keys.take([row('0000000a', 'acme', 'shredded')], new Map());
    expect(keys.activeKeyIdOf('acme')).toBeUndefined();
    expect(keys.subkeys.has('0000000a')).toBe(false);
    expect(keys.lists.shredded).toEqual(['0000000a']);
  });
});
