import { printable } from '../errors';

/**
 * An error from a driver or a loaded file, for the operator's terminal: its driver code and its
 * message with quoted literals removed (drivers quote the values they reject, e.g. MySQL's
 * "Duplicate entry '...'"), control characters escaped, and the length capped.
 *
 * @example
 * ```ts
 * describeForeignError(Object.assign(new Error("Duplicate entry 'a@b.c' for key 'x'"), { code: 'ER_DUP_ENTRY' }));
 * // "ER_DUP_ENTRY: Duplicate entry '…' for key '…'"
 * ```
 */
export function describeForeignError(error: unknown): string {
  const e = (error ?? {}) as { message?: unknown; code?: unknown; driverError?: { code?: unknown } };
  const code = e.driverError?.code ?? e.code;
  const message = String(e.message ?? error)
    .replace(/'(?:[^'\\]|\\.|'')*'/g, "'…'")
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"');
  const text = `${typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? `${code}: ` : ''}${message}`;
  return printable(text.length > 300 ? `${text.slice(0, 300)}…` : text);
}
