import type { KeyPurpose } from './derive';

/**
 * What sealing and opening need from keys, on the hot path and synchronously: the active key's
 * id and the ids it can open; each key's per-purpose subkeys come through {@link subkeyOf}.
 * Anything slow (reading a secret manager, unwrapping data keys) happens before, at startup, and
 * ends in a source such as `KeyRing`.
 */
export interface KeySource {
  /** Id of the key that seals new values. */
  readonly activeKeyId: string;
  /** Ids of every key the source holds, active first. */
  readonly keyIds: readonly string[];
  /** Whether the source holds a key with this id. */
  has(keyId: string): boolean;
  /** Ids of keys destroyed on purpose (crypto-shredding): their values fail with `SEALED_SHREDDED`, and the rotator leaves them. Default: none. */
  readonly shreddedKeyIds?: readonly string[];
  /**
   * Key scopes (a key vault's): the id of the active key of `scope`, undefined when none is loaded
   * yet ({@link prepare} creates or fetches it); with `runner`, also a key that runner created in
   * its transaction. A source without it has no scopes.
   */
  activeKeyIdOf?(scope: string, runner?: object): string | undefined;
  /** The scope of a key id (`''`: the default scope); undefined when the source does not hold it. */
  scopeOf?(keyId: string): string | undefined;
  /** Ids of the active key of every scope. Default: `[activeKeyId]`. */
  readonly activeKeyIds?: readonly string[];
  /**
   * Loads what the hot path is about to need and does not hold yet: the active key of each scope
   * (created at a scope's first write) and keys sealed by other processes since loading. Resolves
   * at once when nothing is missing.
   */
  prepare?(needs: { scopes?: readonly string[]; keyIds?: readonly string[] }, runner?: object): Promise<void>;
  /**
   * Told when a transaction of a query runner ends (committed, or rolled back), so keys created in
   * it become every runner's at its commit and are forgotten at its rollback.
   */
  afterTransaction?(committed: boolean, runner: object): Promise<void> | void;
}

type SubkeyLookup = (keyId: string, purpose: KeyPurpose) => Uint8Array | undefined;

/**
 * Subkey lookups per source, kept in this module only: no property, method or enumeration of a
 * source object reaches key bytes.
 */
const lookups = new WeakMap<KeySource, SubkeyLookup>();

/** Called by a source when it is made: how to find its subkeys. */
export function registerSubkeys(source: KeySource, lookup: SubkeyLookup): void {
  lookups.set(source, lookup);
}

/** The subkey of one purpose for one key id; undefined when the source lacks the id (or was made by another copy of the package). */
export function subkeyOf(source: KeySource, keyId: string, purpose: KeyPurpose): Uint8Array | undefined {
  return lookups.get(source)?.(keyId, purpose);
}
