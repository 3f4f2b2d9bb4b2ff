/** What a wrapped data key is bound to: its id and its scope (`''`, the default scope). */
export interface DataKeyContext {
  /** The data key's id: its fingerprint, 8 lowercase hex characters, as in every envelope it seals. */
  readonly keyId: string;
  /** The scope the data key serves; `''` is the default scope. */
  readonly scope: string;
}

/**
 * Wraps and unwraps data keys with a key-encryption key the database never sees: the contract a
 * KMS (`GenerateDataKey`/`Encrypt` and `Decrypt`), Vault transit or an HSM plugs into. Shipped:
 * {@link localKeyWrapper} (master keys from any key source) and {@link commandKeyWrapper} (a
 * program per operation). A wrapper must bind the context into what it wraps where it can (AAD,
 * a KMS encryption context); the vault checks every unwrapped key against its id in any case, so
 * a wrapper returning another key is caught.
 *
 * @example
 * ```ts
 * // A KMS wrapper, sketched (not shipped: it could not be tested here):
 * const kmsWrapper: KeyWrapper = {
 *   wrappedBy: `kms:${keyArn}`,
 *   canUnwrap: (by) => by.startsWith('kms:'),
 *   async wrap(dataKey, { keyId, scope }) {
 *     const out = await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: dataKey, EncryptionContext: { keyId, scope } }));
 *     return Buffer.from(out.CiphertextBlob!).toString('base64');
 *   },
 *   async unwrap(wrapped, { keyId, scope }) {
 *     const out = await kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(wrapped, 'base64'), EncryptionContext: { keyId, scope } }));
 *     return out.Plaintext!;
 *   },
 * };
 * ```
 */
export interface KeyWrapper {
  /**
   * What the key table records in `wrapped_by` for keys this wrapper wraps now (e.g.
   * `local:9f3a0c1d`): a key recorded otherwise is rewrapped by `rewrap`. Printable ASCII, at
   * most 255 characters; it is stored and printed, so it must never hold a secret.
   */
  readonly wrappedBy: string;
  /** Whether this wrapper can unwrap a key the table records as wrapped by `wrappedBy`. */
  canUnwrap(wrappedBy: string): boolean;
  /** The data key (32 bytes) wrapped, as printable ASCII text of at most 8 KiB. */
  wrap(dataKey: Uint8Array, context: DataKeyContext): Promise<string>;
  /** The 32-byte data key `wrapped` holds; rejects when it cannot (wrong key, altered). */
  unwrap(wrapped: string, context: DataKeyContext): Promise<Uint8Array>;
}
