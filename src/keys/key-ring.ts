import { inspect } from 'node:util';
import { SealedError } from '../errors';
import { deriveKeyId, deriveSubkey, type KeyPurpose } from './derive';
import { parseKey } from './key-material';
import { registerSubkeys, type KeySource } from './key-source';

/** A key given to a ring: the base64 key, optionally with the id you expect it to have. */
export type KeyInput = string | { id: string; key: string };

/** Options of {@link KeyRing}. */
export interface KeyRingOptions {
  /** The key that seals every new value. Required. */
  active: KeyInput;
  /** Older keys that only open values. Default: none. */
  decryptOnly?: readonly KeyInput[];
}

/** Default environment variable read by {@link KeyRing.fromEnv}. */
export const DEFAULT_KEYS_ENV = 'TYPEORM_SEALED_KEYS';

/** Environment variable the CLI reads the blind index key ring from when the DataSource has no sealedSubscriber. */
export const DEFAULT_INDEX_KEYS_ENV = 'TYPEORM_SEALED_INDEX_KEYS';

type RingKeys = Record<KeyPurpose, Uint8Array>;

/** Derived subkeys per ring, kept off the object so nothing can serialize, inspect or enumerate them. */
const secrets = new WeakMap<KeyRing, Map<string, RingKeys>>();

/** Marks rings of every copy of this package, to tell "another copy's ring" from "not a ring". */
const KEY_RING = Symbol.for('typeorm-sealed.v1.key-ring');

/**
 * One active key that seals, and decrypt-only keys that open values sealed before a rotation.
 * Only HKDF subkeys are kept; the master key bytes are zeroed after derivation. The ring redacts
 * itself in `JSON.stringify` and `util.inspect`.
 *
 * @example
 * ```ts
 * // From code:
 * const ring = new KeyRing({ active: process.env.KEY_2026!, decryptOnly: [process.env.KEY_2025!] });
 * // From the environment: TYPEORM_SEALED_KEYS="<active>,<older>,..."
 * const fromEnv = KeyRing.fromEnv();
 * ring.activeKeyId; // '9f3a0c1d'
 * ```
 */
export class KeyRing implements KeySource {
  /** Id of the key that seals new values. */
  readonly activeKeyId: string;
  /** Ids of every key in the ring, active first. */
  readonly keyIds: readonly string[];

  constructor(options: KeyRingOptions) {
    if (options === null || typeof options !== 'object' || options.active === undefined) {
      throw new SealedError('SEALED_INVALID_KEY', 'KeyRing needs { active: <key> } and optionally { decryptOnly: [<key>, ...] }');
    }
    const inputs = [options.active, ...(options.decryptOnly ?? [])];
    const keys = new Map<string, RingKeys>();
    inputs.forEach((input, index) => {
      const label = index === 0 ? 'active key' : `decryptOnly[${index - 1}]`;
      const { id, master } = readKeyInput(input, label);
      try {
        const derived: RingKeys = {
          encrypt: deriveSubkey(master, 'encrypt'),
          'blind-index': deriveSubkey(master, 'blind-index'),
          wrap: deriveSubkey(master, 'wrap'),
        };
        const same = keys.get(id);
        if (same && !Buffer.from(same.encrypt).equals(derived.encrypt)) {
          throw new SealedError(
            'SEALED_INVALID_KEY',
            `${label} is a different key with the same id as an earlier one (a fingerprint collision): generate another key`,
            { keyId: id },
          );
        }
        if (!same) keys.set(id, derived);
      } finally {
        master.fill(0);
      }
    });
    this.keyIds = Object.freeze([...keys.keys()]);
    this.activeKeyId = this.keyIds[0]!;
    secrets.set(this, keys);
    registerSubkeys(this, (keyId: string, purpose: KeyPurpose) => keys.get(keyId)?.[purpose]);
  }

  /**
   * Parses `"<active>,<older>,..."`: comma-separated keys, active first. Each entry is a base64 or
   * base64url key, optionally written `<id>:<key>` to assert its id (a mismatch throws
   * `SEALED_KEY_ID_MISMATCH`). Whitespace and newlines around entries are ignored.
   *
   * @example
   * ```ts
   * KeyRing.fromString('9f3a0c1d:q3J0...=, 3fa9c1e2:Zm9v...=');
   * ```
   */
  static fromString(spec: string): KeyRing {
    return parseRing(spec, 'key ring');
  }

  /**
   * Reads the ring from an environment variable (default `TYPEORM_SEALED_KEYS`) in the
   * {@link KeyRing.fromString} format.
   *
   * @example
   * ```ts
   * // TYPEORM_SEALED_KEYS="$(openssl rand -base64 32)"
   * const ring = KeyRing.fromEnv();
   * ```
   */
  static fromEnv(name: string = DEFAULT_KEYS_ENV, env: NodeJS.ProcessEnv = process.env): KeyRing {
    const shown = envName(name);
    const value = typeof name === 'string' ? env[name] : undefined;
    if (value === undefined || value.trim() === '') {
      throw new SealedError(
        'SEALED_INVALID_KEY',
        `${shown} is not set: put "<active key>[,<older key>...]" in it (generate a key with \`npx typeorm-sealed generate-key\` or \`openssl rand -base64 32\`)`,
      );
    }
    return parseRing(value, shown);
  }

  /** Brand shared by every copy of this package. */
  get [KEY_RING](): true {
    return true;
  }

  /** Whether the ring holds a key with this id. */
  has(keyId: string): boolean {
    return secrets.get(this)!.has(keyId);
  }

  /** `{ activeKeyId, keyIds }`: never key material. */
  toJSON(): { activeKeyId: string; keyIds: readonly string[] } {
    return { activeKeyId: this.activeKeyId, keyIds: this.keyIds };
  }

  [inspect.custom](): string {
    return `KeyRing { active: ${this.activeKeyId}, keys: [${this.keyIds.join(', ')}] }`;
  }
}

/**
 * `value` as a KeyRing made by this copy of the package (its subkeys live in this copy's private
 * store); `SEALED_CONFIG` naming `where` otherwise.
 */
export function requireKeyRing(value: unknown, where: string): KeyRing {
  if (value instanceof KeyRing && secrets.has(value)) return value;
  if (typeof value === 'object' && value !== null && KEY_RING in value) {
    throw new SealedError(
      'SEALED_CONFIG',
      `${where}: this KeyRing was made by another copy of typeorm-sealed (two copies are installed); make it with the copy that uses it`,
    );
  }
  throw new SealedError('SEALED_CONFIG', `${where} needs a KeyRing (e.g. KeyRing.fromEnv())`);
}

/**
 * `indexKeys`, after checking it shares no key with `keys`: an index key that is also an
 * encryption key would change (and break every lookup) when that key is rotated out. `SEALED_CONFIG`
 * naming the shared key id otherwise.
 */
export function separateIndexKeys<T extends KeySource>(keys: KeySource, indexKeys: T): T {
  const shared = indexKeys.keyIds.find((id) => keys.has(id));
  if (shared !== undefined) {
    throw new SealedError(
      'SEALED_CONFIG',
      'indexKeys holds a key that is also an encryption key: give blind indexes keys of their own (generate-key), so rotating the encryption key never changes an index value',
      { keyId: shared },
    );
  }
  return indexKeys;
}

/**
 * How an environment variable is named in messages: `environment variable NAME` when the name has
 * the usual shape (upper case, digits, `_`), else without the name, since a key passed by mistake
 * as the name (`fromEnv(process.env.KEY)`) must not be echoed.
 */
function envName(name: unknown): string {
  return typeof name === 'string' && /^[A-Z_][A-Z0-9_]{0,63}$/.test(name)
    ? `environment variable ${name}`
    : 'the environment variable named in fromEnv(...) (its name is not shown: it does not look like a variable name; pass the name, not the value)';
}

const KEY_ID = /^[0-9a-f]{8}$/;

function readKeyInput(input: KeyInput, label: string): { id: string; master: Uint8Array } {
  const declared = typeof input === 'object' && input !== null ? (input as { id?: unknown }).id : undefined;
  // Check the declared id before anything is echoed: with "<key>:<key>" (':' typed for ',') it is a key.
  if (typeof input === 'object' && input !== null && (typeof declared !== 'string' || !KEY_ID.test(declared))) {
    throw new SealedError(
      'SEALED_INVALID_KEY',
      `${label} declares an id that is not a key id (8 lowercase hex characters, as printed by keyIdOf or generate-key); ` +
        'it is not shown, in case it is a key. Separate the keys of a ring with "," and write an id only as "<8 hex characters>:<key>"',
    );
  }
  const text = typeof input === 'string' ? input : (input as { key?: unknown } | null)?.key;
  const master = parseKey(text as string, label);
  const id = deriveKeyId(master);
  if (declared !== undefined && declared !== id) {
    master.fill(0);
    throw new SealedError(
      'SEALED_KEY_ID_MISMATCH',
      `${label} was declared as key ${declared as string} but its fingerprint is ${id}: this is not the key that id names`,
      { keyId: declared as string },
    );
  }
  return { id, master };
}

/**
 * {@link KeyRing.fromString} with the name messages give the spec (`label`): fixed text chosen by
 * this package, never caller input, which could be a key. For the key providers too.
 */
export function parseRing(spec: string, label: string): KeyRing {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new SealedError('SEALED_INVALID_KEY', `${label} is empty: expected "<active key>[,<older key>...]"`);
  }
  const entries = spec.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => entry === '')) {
    throw new SealedError('SEALED_INVALID_KEY', `${label} has an empty entry: expected "<active key>[,<older key>...]"`);
  }
  const inputs: KeyInput[] = entries.map((entry) => {
    const colon = entry.indexOf(':');
    return colon < 0 ? entry : { id: entry.slice(0, colon).trim(), key: entry.slice(colon + 1).trim() };
  });
  return new KeyRing({ active: inputs[0]!, decryptOnly: inputs.slice(1) });
}
