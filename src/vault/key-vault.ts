import { inspect } from 'node:util';
import { randomBytes } from '@noble/ciphers/utils.js';
import type { DataSource } from 'typeorm';
import { SealedError } from '../errors';
import { deriveKeyId, deriveSubkey, type KeyPurpose } from '../keys/derive';
import { requireKeyRing } from '../keys/key-ring';
import { registerSubkeys, type KeySource } from '../keys/key-source';
import { DataKeyTable, SCOPE, shownWrappedBy, type DataKeyRow, type DataKeyState } from './data-key-table';
import type { KeyWrapper } from './key-wrapper';

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
  /** Keys that could not be rewrapped, with the error's code and message (never key material). */
  failed: { keyId: string; code: string; message: string }[];
}

/** Marks vaults of every copy of this package. */
const KEY_VAULT = Symbol.for('typeorm-sealed.v1.key-vault');
const vaults = new WeakSet<KeyVault>();

interface Loaded {
  dataSource: DataSource;
  activeKeyId: string;
  keyIds: readonly string[];
  subkeys: Map<string, Uint8Array>;
  shreddedKeyIds: readonly string[];
}

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
  private state: Loaded | undefined;

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
    return this.loadedState().activeKeyId;
  }

  /** Ids of the data keys loaded (the active one first); empty before {@link load}. */
  get keyIds(): readonly string[] {
    return this.state?.keyIds ?? [];
  }

  has(keyId: string): boolean {
    return this.state?.subkeys.has(keyId) ?? false;
  }

  /** Ids of the shredded data keys (as of the last load). */
  get shreddedKeyIds(): readonly string[] {
    return this.state?.shreddedKeyIds ?? [];
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
    let rows = await table.rows();
    if (!rows.some((r) => r.scope === '' && r.state !== 'shredded')) {
      try {
        await table.insert(await this.newRow(rows, '', 'active'));
      } catch (e) {
        // another process created it first: read its key
        if (!(e instanceof SealedError && e.code === 'SEALED_KEY_STORE')) throw e;
      }
      rows = await table.rows();
    }
    const subkeys = new Map<string, Uint8Array>();
    for (const row of rows) {
      if (row.state !== 'shredded') subkeys.set(row.id, await this.unwrapSubkey(row));
    }
    const active = rows.filter((r) => r.scope === '' && r.state === 'active');
    if (active.length !== 1) {
      throw new SealedError(
        'SEALED_KEY_STORE',
        active.length === 0
          ? 'the default scope has no active data key: activate one (typeorm-sealed keys activate <id>)'
          : `the default scope has ${active.length} active data keys (${active.map((r) => r.id).join(', ')}): keep one active (typeorm-sealed keys activate <id>)`,
      );
    }
    const activeKeyId = active[0]!.id;
    this.state = {
      dataSource,
      activeKeyId,
      keyIds: Object.freeze([activeKeyId, ...[...subkeys.keys()].filter((id) => id !== activeKeyId)]),
      subkeys,
      shreddedKeyIds: Object.freeze(rows.filter((r) => r.state === 'shredded').map((r) => r.id)),
    };
    return this;
  }

  /** Loads the table again: keys created, activated or shredded by another process take effect here. */
  async reload(): Promise<void> {
    await this.load(this.loadedState().dataSource);
  }

  /** Every data key in the table, read now. */
  async list(): Promise<DataKeyInfo[]> {
    return (await this.table().rows()).map(infoOf);
  }

  /**
   * Creates a data key, wrapped by the vault's wrapper, in the default scope: `ready` (every
   * process that reloads opens its values; none seals with it yet), or active at once with
   * `{ activate: true }` (only safe when no other process runs: one that has not reloaded cannot
   * open what it seals). Default: `{ activate: false }`.
   */
  async createKey(options: { activate?: boolean } = {}): Promise<DataKeyInfo> {
    const table = this.table();
    const row = await this.newRow(await table.rows(), '', 'ready');
    await table.insert(row);
    if (options.activate) await this.activate(row.id);
    else await this.reload();
    return infoOf((await table.rows()).find((r) => r.id === row.id)!);
  }

  /**
   * Makes a data key the active one of its scope (the previous one becomes `retired`: it still
   * opens). Processes seal with it once they reload or restart; then run the rotator's `rotate`.
   */
  async activate(keyId: string): Promise<DataKeyInfo> {
    const row = await this.rowOf(keyId);
    if (row.state === 'shredded') throw new SealedError('SEALED_CONFIG', 'a shredded data key cannot be activated', { keyId: row.id });
    if (row.state !== 'active') {
      await this.table().transaction(async (t) => {
        for (const other of (await t.rows()).filter((r) => r.scope === row.scope && r.state === 'active')) await t.update(other.id, { state: 'retired' });
        await t.update(row.id, { state: 'active', activated_at: now() });
      });
    }
    await this.reload();
    return infoOf(await this.rowOf(row.id));
  }

  /**
   * Rewraps every data key not wrapped by the vault's wrapper (after a new master key became the
   * active one of a local wrapper's ring, or after moving to another wrapper given the old one in
   * `unwrapWith`). Only rows of `sealed_data_keys` change: no value is rewritten. Each key is
   * checked against its id before the new wrapping is written, with a compare-and-swap on the old
   * one. Safe to run again; returns a report instead of throwing halfway.
   */
  async rewrap(options: { dryRun?: boolean } = {}): Promise<RewrapReport> {
    const table = this.table();
    const report: RewrapReport = { wrappedBy: this.wrapper.wrappedBy, dryRun: options.dryRun ?? false, rewrapped: [], current: [], shredded: [], failed: [] };
    for (const row of await table.rows()) {
      if (row.state === 'shredded') report.shredded.push(row.id);
      else if (row.wrapped_by === this.wrapper.wrappedBy) report.current.push(row.id);
      else {
        try {
          const key = await this.unwrapChecked(row);
          try {
            const wrapped = await this.wrapper.wrap(key, { keyId: row.id, scope: row.scope });
            if (!report.dryRun) await table.update(row.id, { wrapped, wrapped_by: this.wrapper.wrappedBy }, { wrapped: row.wrapped });
          } finally {
            key.fill(0);
          }
          report.rewrapped.push(row.id);
        } catch (e) {
          if (!(e instanceof SealedError)) throw e;
          report.failed.push({ keyId: row.id, code: e.code, message: e.message });
        }
      }
    }
    if (!report.dryRun) {
      // a rewrap that lost its compare-and-swap to another process is reported as that process's
      const after = new Map((await table.rows()).map((r) => [r.id, r]));
      report.rewrapped = report.rewrapped.filter((id) => after.get(id)?.wrapped_by === this.wrapper.wrappedBy);
    }
    return report;
  }

  /**
   * Destroys a data key: its wrapped form is deleted from the table (the row stays, `shredded`),
   * so every value sealed under it fails with `SEALED_SHREDDED` from then on, in every process
   * that reloads or restarts. Refuses the active key of a scope (activate another first). Copies
   * of the table in backups still hold it wrapped: rewrap under a new master key and destroy the
   * old master key to make those unreadable too (README, "Shredding").
   */
  async shred(keyId: string): Promise<DataKeyInfo> {
    const row = await this.rowOf(keyId);
    refuseShreddingActive(row);
    if (row.state !== 'shredded') {
      await this.table().update(row.id, { state: 'shredded', wrapped: null, wrapped_by: null, shredded_at: now() }, { state: row.state });
    }
    await this.reload();
    return infoOf(await this.rowOf(row.id));
  }

  /** `{ activeKeyId, keyIds, shredded }`: never key material. */
  toJSON(): { loaded: boolean; activeKeyId?: string; keyIds: readonly string[] } {
    return this.state ? { loaded: true, activeKeyId: this.state.activeKeyId, keyIds: this.state.keyIds } : { loaded: false, keyIds: [] };
  }

  [inspect.custom](): string {
    return this.state ? `KeyVault { active: ${this.state.activeKeyId}, keys: [${this.state.keyIds.join(', ')}] }` : 'KeyVault { not loaded }';
  }

  private loadedState(): Loaded {
    if (!this.state) {
      throw new SealedError(
        'SEALED_CONFIG',
        'the key vault is not loaded: await vault.load(dataSource) after dataSource.initialize(), before the first read or write',
      );
    }
    return this.state;
  }

  private table(): DataKeyTable {
    return new DataKeyTable(this.loadedState().dataSource);
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
      const wrapped = await this.wrapper.wrap(key, { keyId: id, scope });
      const generation = Math.max(0, ...rows.filter((r) => r.scope === scope).map((r) => r.generation)) + 1;
      const at = now();
      return {
        id,
        scope,
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
    const wrapper = this.wrappers.find((w) => w.canUnwrap(row.wrapped_by!));
    const master = /^local:([0-9a-f]{8})$/.exec(row.wrapped_by!)?.[1];
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

/** Loads the vault behind `keys` if there is one and it is not loaded yet (the rotator and the CLI do, so migrations need no extra line). */
export async function loadIfVault(keys: KeySource, dataSource: DataSource): Promise<void> {
  if (isKeyVault(keys) && !keys.loaded) await keys.load(dataSource);
}
