import { inspect } from 'node:util';
import { randomBytes } from '@noble/ciphers/utils.js';
import type { DataSource, QueryRunner } from 'typeorm';
import { SealedError } from '../errors';
import { deriveKeyId, deriveSubkey, type KeyPurpose } from '../keys/derive';
import { requireKeyRing } from '../keys/key-ring';
import { registerSubkeys, type KeySource } from '../keys/key-source';
import { SCOPE } from '../keys/scope';
import { DataKeyTable, scopeHash, shownWrappedBy, type DataKeyRow, type DataKeyState } from './data-key-table';
import type { DataKeyContext, KeyWrapper } from './key-wrapper';
import { LoadedKeys, scopeName, SHARED_LANE } from './loaded-keys';

/** Options of {@link KeyVault}. */
export interface KeyVaultOptions {
  /** Wraps new data keys and rewraps the others; unwraps the keys it wrapped. Required. */
  wrapper: KeyWrapper;
  /** Wrappers that unwrap keys not rewrapped yet (after moving to another wrapper). Default: none. */
  unwrapWith?: readonly KeyWrapper[];
}

/** A data key as listed: never key material. */
export interface DataKeyInfo {
  keyId: string;
  /** `''`: the default scope. */
  scope: string;
  generation: number;
  state: DataKeyState;
  /** Which wrapper wrapped it (`local:<master key id>`, `command:<name>`); undefined once shredded. */
  wrappedBy?: string;
  createdAt: string;
  activatedAt?: string;
  shreddedAt?: string;
}

/** What {@link KeyVault.rewrap} did. */
export interface RewrapReport {
  /** `wrapped_by` of every key rewrapped (the vault's wrapper). */
  wrappedBy: string;
  dryRun: boolean;
  /** Keys rewrapped now (or, in a dry run, that would be). */
  rewrapped: string[];
  /** Keys already wrapped by the vault's wrapper. */
  current: string[];
  /** Shredded keys: nothing to rewrap. */
  shredded: string[];
  /** Keys another process changed (rewrapped, shredded) between this one's read and its write: not written here. */
  changedMeanwhile: string[];
  /** Keys that could not be rewrapped, with the error's code and message (never key material). */
  failed: { keyId: string; code: string; message: string }[];
}

/** Marks vaults of every copy of this package. */
const KEY_VAULT = Symbol.for('typeorm-sealed.v1.key-vault');
const vaults = new WeakSet<KeyVault>();

/**
 * Data keys kept in the database, each wrapped by a key-encryption key the database never sees
 * (envelope encryption, as MongoDB's key vault and every KMS do): values name their data key's id
 * as with a {@link KeyRing}, so the stored format is the same. Rotating the key-encryption key
 * rewraps only the rows of `sealed_data_keys` ({@link rewrap}); rotating the data key is
 * {@link createKey} then {@link activate} then the rotator's `rotate`; destroying a data key
 * ({@link shred}) makes every value under it unreadable (`SEALED_SHREDDED`).
 *
 * Load it after `initialize()` and before the first read or write: it unwraps every key once, so
 * the hot path never calls the wrapper. The rotator and the CLI load it themselves. A process sees
 * keys created, activated or shredded elsewhere when it {@link reload}s or restarts.
 *
 * @example
 * ```ts
 * const vault = new KeyVault({ wrapper: localKeyWrapper(KeyRing.fromEnv('TYPEORM_SEALED_MASTER_KEYS')) });
 * const dataSource = new DataSource({ ..., entities: [User, SealedDataKeys], subscribers: [sealedSubscriber({ keys: vault })] });
 * await dataSource.initialize();
 * await vault.load(dataSource); // creates the first data key when the table has none
 * ```
 */
export class KeyVault implements KeySource {
  private readonly wrappers: readonly KeyWrapper[];
  private state: LoadedKeys | undefined;
  /** The DataSource of the last load, even one that failed: listing and activating keys repair a table that does not load. */
  private source: DataSource | undefined;
  /**
   * The prepare running per query runner (and one for prepares without a runner): a runner's
   * prepares run one after another; different runners' never wait for each other here (one may
   * wait in the database for another's uncommitted first key of a scope).
   */
  private readonly preparing = new WeakMap<object, Promise<void>>();

  constructor(options: KeyVaultOptions) {
    const all = [options?.wrapper, ...(options?.unwrapWith ?? [])];
    if (!all.every(isWrapper)) {
      throw new SealedError(
        'SEALED_CONFIG',
        'KeyVault needs { wrapper } (e.g. localKeyWrapper(ring) or commandKeyWrapper({...})) and optionally { unwrapWith: [older wrappers] }',
      );
    }
    this.wrappers = all;
    vaults.add(this);
    registerSubkeys(this, (keyId: string, purpose: KeyPurpose) => (purpose === 'encrypt' ? this.state?.subkeys.get(keyId) : undefined));
  }

  /** Brand shared by every copy of this package. */
  get [KEY_VAULT](): true {
    return true;
  }

  /** Whether {@link load} has run. */
  get loaded(): boolean {
    return this.state !== undefined;
  }

  /** The wrapper that wraps new keys. */
  get wrapper(): KeyWrapper {
    return this.wrappers[0]!;
  }

  /** Id of the active data key of the default scope; `SEALED_CONFIG` before {@link load}. */
  get activeKeyId(): string {
    return this.loadedState().active.get('')!;
  }

  /** Ids of the data keys loaded, of every scope (the default scope's active one first); empty before {@link load}. */
  get keyIds(): readonly string[] {
    return this.state?.lists.keyIds ?? [];
  }

  has(keyId: string): boolean {
    return this.state?.subkeys.has(keyId) ?? false;
  }

  /** Ids of the shredded data keys known here. */
  get shreddedKeyIds(): readonly string[] {
    return this.state?.lists.shredded ?? [];
  }

  /** Ids of the active data key of every scope loaded. */
  get activeKeyIds(): readonly string[] {
    return this.state?.lists.active ?? [];
  }

  /**
   * The active data key of a scope, undefined when none is loaded here yet; with `runner`, also a
   * key that runner created in its transaction, not committed yet.
   */
  activeKeyIdOf(scope: string, runner?: object): string | undefined {
    return this.state?.activeKeyIdOf(scope, runner);
  }

  /** The scope of a loaded or shredded data key. */
  scopeOf(keyId: string): string | undefined {
    return this.state?.scopes.get(keyId);
  }

  /**
   * Makes sure the active key of each scope and each key id is loaded: reads the rows of the
   * missing ones (another process may have created them since {@link load}), and creates the
   * active key of a scope that has none, once across processes (the first write of a tenant).
   * Resolves at once when nothing is missing. The subscriber and the rotator call it; call it
   * yourself only before sealing through another path.
   */
  async prepare(needs: { scopes?: readonly string[]; keyIds?: readonly string[] }, runner?: object): Promise<void> {
    const state = this.loadedState();
    const scopes = [...new Set(needs.scopes ?? [])].filter((scope) => this.activeKeyIdOf(scope, runner) === undefined);
    const keyIds = [...new Set(needs.keyIds ?? [])].filter((id) => !state.subkeys.has(id) && !state.shredded.has(id));
    if (scopes.length === 0 && keyIds.length === 0) return;
    const lane = runner ?? SHARED_LANE;
    const run = (this.preparing.get(lane) ?? Promise.resolve()).then(() => this.fetchOrCreate(scopes, keyIds, runner as QueryRunner | undefined));
    this.preparing.set(
      lane,
      run.catch(() => undefined),
    );
    await run;
  }

  /**
   * After a transaction of `runner` ended. Its commit, when it was the outermost transaction, makes
   * the keys it created the active keys of their scopes. A rollback forgets those whose row it
   * undid: all of them after the outermost rollback, those no longer in the table after a
   * savepoint's (read on the runner, still in its transaction).
   */
  async afterTransaction(committed: boolean, runner: object): Promise<void> {
    const state = this.state;
    const pending = state?.pendingOf(runner) ?? [];
    if (!state || pending.length === 0) return;
    const open = (runner as QueryRunner).isTransactionActive;
    if (committed && !open) state.confirm(runner);
    else if (!committed) {
      const kept = open ? new Set((await new DataKeyTable(state.dataSource, runner as QueryRunner).rowsOf([], pending)).map((r) => r.id)) : new Set<string>();
      state.forget(
        state.lane(runner),
        pending.filter((id) => !kept.has(id)),
        true,
      );
    }
  }

  /**
   * Reads the data key table and unwraps every key that is not shredded; when the default scope
   * has no key yet, creates and activates one (two processes starting at once agree on one). Call
   * it after `dataSource.initialize()`. Fails with `SEALED_CONFIG` (table not in the entities),
   * `SEALED_KEY_STORE` (table missing or holding a row that is not a data key, a key no wrapper
   * unwraps, a wrapper failing), `SEALED_WRONG_KEY` (a master key missing), `SEALED_TAMPERED` (a
   * wrapped key altered or moved to another row).
   */
  async load(dataSource: DataSource): Promise<this> {
    const table = new DataKeyTable(dataSource);
    this.source = dataSource;
    let rows = await table.rows();
    if (!rows.some((r) => r.scope === '' && r.state !== 'shredded')) {
      // another process creating it at the same moment wins, and its key is read below
      await table.insertIfAbsent(await this.newRow(rows, '', 'active'));
      rows = await table.rows();
    }
    const state = new LoadedKeys(dataSource);
    await this.absorb(state, rows);
    if (!state.active.has('')) {
      throw new SealedError('SEALED_KEY_STORE', 'the default scope has no active data key: activate one (typeorm-sealed keys activate <id>)');
    }
    this.state = state;
    return this;
  }

  /**
   * Unwraps the rows not loaded yet, then takes every row into `state` at once (the hot path never
   * sees half of it); the active key of each scope the rows cover is taken from them.
   */
  private async absorb(state: LoadedKeys, rows: readonly DataKeyRow[], seenBy?: object): Promise<void> {
    const unwrapped = new Map<string, Uint8Array>();
    for (const row of rows) if (state.needsUnwrap(row)) unwrapped.set(row.id, await this.unwrapSubkey(row));
    state.take(rows, unwrapped, seenBy);
  }

  /**
   * Reads the rows of missing scopes and keys, and creates the active key of each scope that still
   * has none, on `runner` (in its transaction: the key commits or rolls back with the write that
   * needed it, and a second process creating the same scope's first key waits in the database for
   * this one's outcome) or, without one, on a connection of the pool.
   */
  private async fetchOrCreate(scopes: readonly string[], keyIds: readonly string[], runner: QueryRunner | undefined): Promise<void> {
    const state = this.loadedState();
    const table = new DataKeyTable(state.dataSource, runner);
    const seenBy = runner ?? SHARED_LANE;
    await this.absorb(state, await table.rowsOf(scopes, keyIds), seenBy);
    // in one order, so that two transactions creating the first keys of the same scopes cannot wait for each other in a cycle
    for (const scope of [...scopes].sort()) {
      for (let attempt = 0; this.activeKeyIdOf(scope, runner) === undefined; attempt++) {
        if (attempt === 3) throw new SealedError('SEALED_KEY_STORE', `could not create the first data key of the scope ${scopeName(scope)}`);
        // one read decides: another process's key, if it is there by now, else a new one of the next generation
        // a plain read first: a locking read here would take gap locks that two first writes then deadlock on (InnoDB)
        const rows = (await table.rowsOf([scope], [])).filter((r) => r.scope === scope);
        if (rows.some((r) => r.state === 'active')) {
          await this.absorb(state, rows, seenBy);
          if (this.activeKeyIdOf(scope, runner) !== undefined) continue;
        }
        const row = await this.newRow(rows, scope, 'active');
        await table.insertIfAbsent(row);
        if (!(await table.keepsScope(row.id, scope))) {
          throw new SealedError(
            'SEALED_UNSUPPORTED_VALUE',
            `the database does not store the scope ${scopeName(scope)} exactly (the key table's character set?): no key was created for it`,
          );
        }
        // the row of that generation now: ours, or another transaction's it waited for (committed)
        const holder = await table.rowAt(scope, row.generation);
        const after = holder && holder.scope === scope ? [holder] : [];
        const ours = holder?.id === row.id;
        if (ours && runner?.isTransactionActive) state.addPending(runner, scope, row.id);
        await this.absorb(state, after, seenBy);
      }
    }
  }

  /** Loads the table again: keys created, activated or shredded by another process take effect here. */
  async reload(): Promise<void> {
    await this.load(this.sourceOf());
  }

  /** Every data key in the table, read now. */
  async list(): Promise<DataKeyInfo[]> {
    return (await this.table().rows()).map(infoOf);
  }

  /**
   * Creates a data key, wrapped by the vault's wrapper, in a scope (default: the default scope,
   * `''`): `ready` (every process that reloads opens its values; none seals with it yet), or
   * active at once with `{ activate: true }` (only safe when no other process runs: one that has
   * not reloaded cannot open what it seals). Default: `{ activate: false }`.
   */
  async createKey(options: { activate?: boolean; scope?: string } = {}): Promise<DataKeyInfo> {
    const { activate = false } = options ?? {};
    const scope = String(options?.scope ?? '');
    const table = this.table();
    const row = await this.newRow(await table.rowsOf([scope], []), scope, 'ready');
    await table.insert(row);
    if (activate) await this.activate(row.id);
    else await this.reload();
    return infoOf(await this.rowOf(row.id));
  }

  /**
   * Makes a data key the active one of its scope (the previous one becomes `retired`: it still
   * opens). Processes seal with it once they reload or restart; then run the rotator's `rotate`.
   * Works on a table that does not load (two active keys in a scope): it is how to repair one.
   */
  async activate(keyId: string): Promise<DataKeyInfo> {
    const row = await this.rowOf(keyId);
    if (row.state === 'shredded') throw new SealedError('SEALED_CONFIG', 'a shredded data key cannot be activated', { keyId: row.id });
    if (row.state !== 'active' || (await this.table().rowsOf([row.scope], [])).some((r) => r.scope === row.scope && r.state === 'active' && r.id !== row.id)) {
      await this.table().transaction(async (t) => {
        for (const other of (await t.rowsOf([row.scope], [])).filter((r) => r.scope === row.scope && r.state === 'active' && r.id !== row.id)) {
          await t.update(other.id, { state: 'retired' }, { state: 'active' });
        }
        await t.update(row.id, { state: 'active', activated_at: now() }, { state: row.state });
        // another activate or shred ran meanwhile: roll back rather than leave two active keys, or an active shredded one
        const after = (await t.rowsOf([row.scope], [])).filter((r) => r.scope === row.scope && r.state === 'active');
        if (after.length !== 1 || after[0]!.id !== row.id) {
          throw new SealedError(
            'SEALED_CONFIG',
            'the data key changed while it was being activated (another activate or shred ran): nothing was changed; run it again',
            { keyId: row.id },
          );
        }
      });
    }
    await this.reload();
    return infoOf(await this.rowOf(row.id));
  }

  /**
   * Rewraps every data key not wrapped by the vault's wrapper (after a new master key became the
   * active one of a local wrapper's ring, or after moving to another wrapper given the old one in
   * `unwrapWith`). Only rows of `sealed_data_keys` change: no value is rewritten. Every key is
   * unwrapped and checked against its id, also those already current (a failure is reported, not
   * skipped); each new wrapping is unwrapped and checked before it is written, with a
   * compare-and-swap on the old one, so a wrapper that cannot unwrap what it wraps changes
   * nothing. Safe to run again; returns a report instead of throwing halfway.
   */
  async rewrap(options: { dryRun?: boolean; onProgress?: (progress: { done: number; total: number; rate: number }) => void } = {}): Promise<RewrapReport> {
    const table = this.table();
    const dryRun = options?.dryRun ?? false;
    const started = Date.now();
    let done = 0;
    const report: RewrapReport = { wrappedBy: this.wrapper.wrappedBy, dryRun, rewrapped: [], current: [], shredded: [], changedMeanwhile: [], failed: [] };
    const written = new Map<string, string>();
    const rows = await table.rows();
    const progress = () => options?.onProgress?.({ done, total: rows.length, rate: done / Math.max((Date.now() - started) / 1000, 1e-3) });
    for (const row of rows) {
      progress();
      done++;
      if (row.state === 'shredded') {
        report.shredded.push(row.id);
        continue;
      }
      try {
        const key = await this.unwrapChecked(row);
        try {
          if (row.wrapped_by === this.wrapper.wrappedBy && this.wrapper.canUnwrap(row.wrapped_by) && wrappedByLabel(row)) {
            report.current.push(row.id);
            continue;
          }
          const wrapped = await this.wrapChecked(key, { keyId: row.id, scope: row.scope });
          if (!dryRun) await table.updateWrapped(row.id, wrapped, this.wrapper.wrappedBy, row.wrapped!);
          written.set(row.id, wrapped);
          report.rewrapped.push(row.id);
        } finally {
          key.fill(0);
        }
      } catch (e) {
        if (!(e instanceof SealedError)) throw e;
        report.failed.push({ keyId: row.id, code: e.code, message: e.message });
      }
    }
    progress();
    if (!dryRun) {
      // a row whose compare-and-swap found it changed (another rewrap, a shred) was not written here
      const after = new Map((await table.rows()).map((r) => [r.id, r]));
      report.changedMeanwhile = report.rewrapped.filter((id) => after.get(id)?.wrapped !== written.get(id));
      report.rewrapped = report.rewrapped.filter((id) => !report.changedMeanwhile.includes(id));
    }
    return report;
  }

  /**
   * Destroys a data key: its wrapped form is deleted from the table (the row stays, `shredded`),
   * so every value sealed under it fails with `SEALED_SHREDDED` from then on, in every process
   * that reloads or restarts. Refuses the active key of a scope (activate another first), and a key
   * already shredded. Copies of the table in backups still hold it wrapped: rewrap under a new
   * master key and destroy the old master key to make those unreadable too (README, "Shredding").
   */
  async shred(keyId: string): Promise<DataKeyInfo> {
    const row = await this.rowOf(keyId);
    refuseShreddingActive(row);
    return (await this.shredRows([row]))[0]!;
  }

  /**
   * Shreds every data key of a scope, the active one too (a tenant's right to erasure): every value
   * of the scope fails with `SEALED_SHREDDED` from then on; a later write in the scope creates a
   * new key. Refuses the default scope, and a scope whose keys are all shredded already. Returns
   * the keys shredded now.
   */
  async shredScope(scope: string | number): Promise<DataKeyInfo[]> {
    scope = typeof scope === 'number' ? String(scope) : scope;
    if (typeof scope !== 'string' || scope === '') throw new SealedError('SEALED_CONFIG', 'shredScope needs a scope other than the default one');
    const rows = (await this.table().rowsOf([scope], [])).filter((r) => r.scope === scope && r.state !== 'shredded');
    if (rows.length === 0) throw new SealedError('SEALED_CONFIG', `the scope ${scopeName(scope)} has no data key left to shred`);
    return this.shredRows(rows);
  }

  /** Shreds rows, each with a compare-and-swap on its state; `SEALED_CONFIG` when one was already shredded or changed meanwhile. */
  private async shredRows(rows: readonly DataKeyRow[]): Promise<DataKeyInfo[]> {
    const table = this.table();
    for (const row of rows) {
      if (row.state === 'shredded')
        throw new SealedError('SEALED_CONFIG', `data key ${row.id} was shredded already (at ${row.shredded_at ?? '?'})`, { keyId: row.id });
      await table.update(row.id, { state: 'shredded', wrapped: null, wrapped_by: null, shredded_at: now() }, { state: row.state });
    }
    const after = await table.rowsOf(
      [],
      rows.map((r) => r.id),
    );
    await this.reload().catch((e: unknown) => {
      // the shredding stands; a table that does not load is reported by the next load
      if (!(e instanceof SealedError)) throw e;
    });
    const changed = rows.filter((r) => after.find((a) => a.id === r.id)?.state !== 'shredded');
    if (changed.length > 0) {
      throw new SealedError(
        'SEALED_CONFIG',
        `data key ${changed[0]!.id} changed while it was being shredded (it was activated meanwhile?): it was not shredded; check keys list and run it again`,
        {
          keyId: changed[0]!.id,
        },
      );
    }
    return after.map(infoOf);
  }

  /** `{ activeKeyId, keyIds, shredded }`: never key material. */
  toJSON(): { loaded: boolean; activeKeyId?: string; keyIds: readonly string[] } {
    return this.state ? { loaded: true, activeKeyId: this.activeKeyId, keyIds: this.keyIds } : { loaded: false, keyIds: [] };
  }

  [inspect.custom](): string {
    return this.state ? `KeyVault { active: ${this.activeKeyId}, keys: [${this.keyIds.join(', ')}] }` : 'KeyVault { not loaded }';
  }

  private loadedState(): LoadedKeys {
    if (!this.state) {
      throw new SealedError(
        'SEALED_CONFIG',
        'the key vault is not loaded: await vault.load(dataSource) after dataSource.initialize(), before the first read or write',
      );
    }
    return this.state;
  }

  private table(): DataKeyTable {
    return new DataKeyTable(this.sourceOf());
  }

  private sourceOf(): DataSource {
    return this.source ?? this.loadedState().dataSource;
  }

  private async rowOf(keyId: string): Promise<DataKeyRow> {
    const row = typeof keyId === 'string' ? (await this.table().rows()).find((r) => r.id === keyId) : undefined;
    if (!row)
      throw new SealedError(
        'SEALED_CONFIG',
        /^[0-9a-f]{8}$/.test(String(keyId)) ? `no data key ${keyId as string} in the table` : 'no data key has that id (8 lowercase hex characters)',
      );
    return row;
  }

  /** A new data key row of `scope`, its key wrapped, with the next generation and an id no row has. */
  private async newRow(rows: readonly DataKeyRow[], scope: string, state: 'ready' | 'active'): Promise<DataKeyRow> {
    if (!SCOPE.test(scope)) throw new SealedError('SEALED_CONFIG', 'a scope is text of at most 191 characters without control characters');
    const key = randomBytes(32);
    try {
      const id = deriveKeyId(key);
      // a 32-bit fingerprint collision with an existing key: draw another key
      if (rows.some((r) => r.id === id)) return await this.newRow(rows, scope, state);
      const wrapped = await this.wrapChecked(key, { keyId: id, scope });
      const generation = Math.max(0, ...rows.filter((r) => r.scope === scope).map((r) => r.generation)) + 1;
      const at = now();
      return {
        id,
        scope,
        scope_hash: scopeHash(scope),
        generation,
        state,
        wrapped,
        wrapped_by: this.wrapper.wrappedBy,
        created_at: at,
        activated_at: state === 'active' ? at : null,
        shredded_at: null,
      };
    } finally {
      key.fill(0);
    }
  }

  /**
   * The key wrapped by the vault's wrapper, after unwrapping that wrapping and finding the same
   * key: a wrapper that cannot unwrap what it wraps (a misconfigured KMS key) never gets a
   * wrapping stored. `SEALED_KEY_STORE` otherwise.
   */
  private async wrapChecked(key: Uint8Array, context: DataKeyContext): Promise<string> {
    const wrapped = await this.wrapper.wrap(key, context);
    if (typeof wrapped !== 'string' || wrapped.length === 0 || wrapped.length > 8192) {
      throw new SealedError('SEALED_KEY_STORE', 'the wrapper returned no wrapped key (text of 1 to 8192 characters)', { keyId: context.keyId });
    }
    let back: Uint8Array | undefined;
    try {
      back = await this.wrapper.unwrap(wrapped, context);
    } catch {
      // reported below, without the wrapper's error (it may quote what it was given)
    }
    const same = back instanceof Uint8Array && back.length === key.length && Buffer.from(back).equals(key);
    if (back instanceof Uint8Array) back.fill(0);
    if (!same) {
      throw new SealedError(
        'SEALED_KEY_STORE',
        "the wrapper's new wrapping does not unwrap to the key (do its wrap and unwrap use the same key-encryption key?): nothing was stored",
        { keyId: context.keyId },
      );
    }
    return wrapped;
  }

  /** The encryption subkey of a row's data key. */
  private async unwrapSubkey(row: DataKeyRow): Promise<Uint8Array> {
    const key = await this.unwrapChecked(row);
    try {
      return deriveSubkey(key, 'encrypt');
    } finally {
      key.fill(0);
    }
  }

  /** A row's data key, unwrapped by the wrapper that can and checked against the row's id. */
  private async unwrapChecked(row: DataKeyRow): Promise<Uint8Array> {
    // a local wrapping names its master key itself: that, not the label beside it, says who unwraps it
    const label = localLabelOf(row.wrapped) ?? row.wrapped_by!;
    const wrapper = this.wrappers.find((w) => w.canUnwrap(label));
    const master = /^local:([0-9a-f]{8})$/.exec(label)?.[1];
    if (!wrapper && master) {
      throw new SealedError(
        'SEALED_WRONG_KEY',
        `data key ${row.id} is wrapped by master key ${master}, which no wrapper of this vault holds (is it in the master key ring?)`,
        {
          keyId: master,
        },
      );
    }
    if (!wrapper) {
      throw new SealedError(
        'SEALED_KEY_STORE',
        `data key ${row.id} is wrapped by ${shownWrappedBy(row.wrapped_by)}, which no wrapper of this vault unwraps (add that wrapper, or its master key, to unwrapWith or the ring)`,
        { keyId: row.id },
      );
    }
    const key = await wrapper.unwrap(row.wrapped!, { keyId: row.id, scope: row.scope });
    if (!(key instanceof Uint8Array) || key.length !== 32 || deriveKeyId(key) !== row.id) {
      if (key instanceof Uint8Array) key.fill(0);
      throw new SealedError(
        'SEALED_TAMPERED',
        `data key ${row.id}: the unwrapped key is not the key this id names (the wrapped key was swapped or the wrapper returned another key)`,
        {
          keyId: row.id,
        },
      );
    }
    return key;
  }
}

/** `SEALED_CONFIG` when the key is the active one of its scope: shredding it would leave the scope nothing to seal with. */
export function refuseShreddingActive(key: { id?: string; keyId?: string; state: DataKeyState }): void {
  if (key.state === 'active') {
    throw new SealedError('SEALED_CONFIG', 'the active data key of a scope cannot be shredded: create and activate another one first, then rotate', {
      keyId: (key.id ?? key.keyId)!,
    });
  }
}

/** Whether `value` is a KeyVault (of any copy of this package). */
export function isKeyVault(value: unknown): value is KeyVault {
  return typeof value === 'object' && value !== null && KEY_VAULT in value;
}

/** `value` as a KeyVault made by this copy of the package, else undefined. */
export function ownKeyVault(value: unknown): KeyVault | undefined {
  return value instanceof KeyVault && vaults.has(value) ? value : undefined;
}

function isWrapper(w: unknown): w is KeyWrapper {
  const o = w as KeyWrapper | null | undefined;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.wrappedBy === 'string' &&
    o.wrappedBy.length <= 255 &&
    typeof o.canUnwrap === 'function' &&
    typeof o.wrap === 'function' &&
    typeof o.unwrap === 'function'
  );
}

/**
 * Whether a row's `wrapped_by` tells the truth where the wrapping itself says who wrapped it: a
 * local wrapping names its master key, which must be the one in `wrapped_by`.
 */
function wrappedByLabel(row: DataKeyRow): boolean {
  const local = localLabelOf(row.wrapped);
  return local === undefined ? !row.wrapped_by!.startsWith('local:') : row.wrapped_by === local;
}

/** `local:<master key id>` for a local wrapping (`wrapped:1:x:<id>:...`); undefined for any other. */
function localLabelOf(wrapped: string | null): string | undefined {
  const id = /^wrapped:1:x:([0-9a-f]{8}):/.exec(wrapped ?? '')?.[1];
  return id === undefined ? undefined : `local:${id}`;
}

function infoOf(row: DataKeyRow): DataKeyInfo {
  return {
    keyId: row.id,
    scope: row.scope,
    generation: row.generation,
    state: row.state,
    ...(row.wrapped_by !== null ? { wrappedBy: shownWrappedBy(row.wrapped_by) } : {}),
    createdAt: row.created_at,
    ...(row.activated_at !== null ? { activatedAt: row.activated_at } : {}),
    ...(row.shredded_at !== null ? { shreddedAt: row.shredded_at } : {}),
  };
}

function now(): string {
  return new Date().toISOString();
}

/**
 * The encryption keys given to `sealedSubscriber` or `KeyRotator`: a KeyRing or a KeyVault made by
 * this copy of the package; `SEALED_CONFIG` naming `where` otherwise.
 */
export function requireKeys(value: unknown, where: string): KeySource {
  const vault = ownKeyVault(value);
  if (vault) return vault;
  if (isKeyVault(value)) {
    throw new SealedError(
      'SEALED_CONFIG',
      `${where}: this KeyVault was made by another copy of typeorm-sealed (two copies are installed); make it with the copy that uses it`,
    );
  }
  return requireKeyRing(value, where);
}

/**
 * Loads the vault behind `keys` if there is one, or loads it again if it is loaded already: the
 * rotator starts from the table as it is now (keys other processes created), and migrations need
 * no extra line.
 */
export async function freshVault(keys: KeySource, dataSource: DataSource): Promise<void> {
  if (!isKeyVault(keys)) return;
  if (keys.loaded) await keys.reload();
  else await keys.load(dataSource);
}
