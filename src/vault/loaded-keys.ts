import type { DataSource } from 'typeorm';
import { printable, SealedError } from '../errors';
import type { DataKeyRow } from './data-key-table';

/** Drivers with one connection, where every query runner shares one transaction. */
const SINGLE_CONNECTION = new Set(['sqlite', 'better-sqlite3', 'sqljs', 'capacitor', 'cordova', 'expo', 'nativescript', 'react-native']);

/** The lane of prepares without a query runner, and of every runner of a single-connection database. */
export const SHARED_LANE = {};

/**
 * What a loaded key vault holds in memory: the encryption subkey of each data key (never the key
 * itself), the scope of each, the active key of each scope, the shredded ids, and the keys created
 * by a transaction of this process that has not committed yet. Those are their query runner's
 * alone (on a single-connection database, SQLite, every runner shares the transaction, so every
 * runner's): its outermost commit makes them everyone's, a rollback forgets them. Every change
 * happens synchronously, so the hot path never sees half of one.
 */
export class LoadedKeys {
  /** Encryption subkey per data key id (shredded keys have none). */
  readonly subkeys = new Map<string, Uint8Array>();
  /** Scope per data key id. */
  readonly scopes = new Map<string, string>();
  /** Active data key id per scope, committed. */
  readonly active = new Map<string, string>();
  readonly shredded = new Set<string>();
  /** Per lane, the scopes whose first key its open transaction created, to that key's id. */
  private readonly pending = new Map<object, Map<string, string>>();
  /** Ids of the keys in `pending`, to their lane. */
  private readonly pendingIds = new Map<string, object>();
  /** `keyIds`, `shreddedKeyIds` and `activeKeyIds` as the vault hands them out, recomputed on change. */
  lists: { keyIds: readonly string[]; shredded: readonly string[]; active: readonly string[] } = { keyIds: [], shredded: [], active: [] };

  constructor(readonly dataSource: DataSource) {}

  /** The lane whose transaction `runner` is in: the runner itself, or {@link SHARED_LANE} on a single-connection database. */
  lane(runner: object): object {
    return SINGLE_CONNECTION.has(String(this.dataSource.driver.options.type)) ? SHARED_LANE : runner;
  }

  /** The active key of a scope: committed, or created by `runner`'s own open transaction. */
  activeKeyIdOf(scope: string, runner?: object): string | undefined {
    return this.active.get(scope) ?? (runner && this.pending.get(this.lane(runner))?.get(scope));
  }

  /** Whether a row's key must be unwrapped before {@link take} can take it. */
  needsUnwrap(row: DataKeyRow): boolean {
    return row.state !== 'shredded' && !this.subkeys.has(row.id);
  }

  /**
   * Takes rows as read (by `seenBy`, when a query runner read them), with the subkeys of those
   * that needed unwrapping. The active key of each scope the rows cover comes from them; two active
   * keys in one scope are refused (`SEALED_KEY_STORE`). A pending key of another lane that `seenBy`
   * reads on its own connection has committed (no connection sees another's uncommitted rows): it
   * becomes everyone's.
   */
  take(rows: readonly DataKeyRow[], unwrapped: ReadonlyMap<string, Uint8Array>, seenBy?: object): void {
    for (const scope of new Set(rows.map((r) => r.scope))) {
      const active = rows.filter((r) => r.scope === scope && r.state === 'active');
      if (active.length > 1) {
        throw new SealedError(
          'SEALED_KEY_STORE',
          `the scope ${scopeName(scope)} has ${active.length} active data keys (${active.map((r) => r.id).join(', ')}): keep one active (typeorm-sealed keys activate <id>)`,
        );
      }
    }
    for (const row of rows) {
      this.scopes.set(row.id, row.scope);
      const owner = this.pendingIds.get(row.id);
      if (owner !== undefined && seenBy !== undefined && owner !== this.lane(seenBy)) this.forget(owner, [row.id], false);
      if (this.pendingIds.has(row.id) && row.state === 'active') {
        this.subkeys.set(row.id, this.subkeys.get(row.id) ?? unwrapped.get(row.id)!);
        continue;
      }
      if (row.state === 'shredded') {
        this.subkeys.delete(row.id);
        this.shredded.add(row.id);
        if (this.active.get(row.scope) === row.id) this.active.delete(row.scope);
      } else {
        this.subkeys.set(row.id, this.subkeys.get(row.id) ?? unwrapped.get(row.id)!);
        if (row.state === 'active') this.active.set(row.scope, row.id);
        else if (this.active.get(row.scope) === row.id) this.active.delete(row.scope);
      }
    }
    this.refresh();
  }

  /** Records a scope's first key, created by `runner`'s open transaction. */
  addPending(runner: object, scope: string, keyId: string): void {
    const lane = this.lane(runner);
    if (!this.pending.has(lane)) this.pending.set(lane, new Map());
    this.pending.get(lane)!.set(scope, keyId);
    this.pendingIds.set(keyId, lane);
  }

  /** The ids of the keys `runner`'s open transaction created. */
  pendingOf(runner: object): string[] {
    return [...(this.pending.get(this.lane(runner))?.values() ?? [])];
  }

  /** After `runner`'s outermost commit: its keys are the active keys of their scopes (where none is yet). */
  confirm(runner: object): void {
    const lane = this.lane(runner);
    for (const [scope, id] of this.pending.get(lane) ?? []) if (!this.active.has(scope)) this.active.set(scope, id);
    this.forget(lane, this.pendingOf(runner), false);
  }

  /** Drops keys from a lane's pending ones; `gone`: their rows were rolled back, so their subkeys go too. */
  forget(lane: object, ids: readonly string[], gone: boolean): void {
    const pending = this.pending.get(lane);
    if (!pending) return;
    for (const id of ids) {
      pending.delete(this.scopes.get(id)!);
      this.pendingIds.delete(id);
      if (gone) {
        this.subkeys.delete(id);
        this.scopes.delete(id);
      }
    }
    if (pending.size === 0) this.pending.delete(lane);
    this.refresh();
  }

  /** Recomputes the id lists (the default scope's active key first). */
  private refresh(): void {
    const first = this.active.get('');
    this.lists = {
      keyIds: Object.freeze([...(first ? [first] : []), ...[...this.subkeys.keys()].filter((id) => id !== first)]),
      shredded: Object.freeze([...this.shredded]),
      active: Object.freeze([...this.active.values()]),
    };
  }
}

/** A scope in messages: `(default)`, or the scope quoted with control characters escaped. */
export function scopeName(scope: string): string {
  return scope === '' ? '(default)' : `"${printable(scope)}"`;
}
