import type { DataSource } from 'typeorm';
import { cipherSubscribersOf } from '../cipher/registry';

/** Promises returned by the other before-insert/update handlers, per entity they were given. */
const pending = new WeakMap<object, Promise<unknown>[]>();
/** Marks a handler already wrapped (by any copy of this package). */
const WRAPPED = Symbol.for('typeorm-sealed.v1.wrapped-handler');

type Handler = ((...args: unknown[]) => unknown) & { [WRAPPED]?: true };

/**
 * Wraps, once, every other before-insert/update handler of a DataSource (other subscribers'
 * `beforeInsert`/`beforeUpdate`, entity `@BeforeInsert`/`@BeforeUpdate` listeners) so that the
 * promise an async handler returns is noted against the entity it was given. The sealer waits for
 * those promises before it seals: a handler that sets an encrypted field after an `await` is
 * sealed too, and when one rejects (an async validation), nothing is sealed and the caller's
 * object keeps its plaintext. Handlers keep their `this`, arguments and results.
 */
export function trackOtherHandlers(dataSource: DataSource): void {
  const ours = new Set<object>(cipherSubscribersOf(dataSource));
  for (const subscriber of dataSource.subscribers as unknown as Record<string, unknown>[]) {
    if (ours.has(subscriber)) continue;
    for (const method of ['beforeInsert', 'beforeUpdate']) wrap(subscriber, method, (args) => (args[0] as { entity?: unknown } | undefined)?.entity);
  }
  for (const metadata of dataSource.entityMetadatas) {
    for (const listener of [...metadata.beforeInsertListeners, ...metadata.beforeUpdateListeners]) {
      wrap(listener as unknown as Record<string, unknown>, 'execute', (args) => args[0]);
    }
  }
}

function wrap(target: Record<string, unknown>, method: string, entityOf: (args: unknown[]) => unknown): void {
  const original = target[method] as Handler | undefined;
  if (typeof original !== 'function' || original[WRAPPED]) return;
  const wrapped: Handler = function (this: unknown, ...args: unknown[]) {
    const result = original.apply(this, args);
    const entity = entityOf(args);
    if (result instanceof Promise && typeof entity === 'object' && entity !== null) {
      let promises = pending.get(entity);
      if (!promises) pending.set(entity, (promises = []));
      promises.push(result);
    }
    return result;
  };
  wrapped[WRAPPED] = true;
  target[method] = wrapped;
}

/**
 * Resolves once every other handler's promise for these entities has settled: `true` when all
 * were fulfilled, `false` when one rejected (the write will not happen).
 */
export async function otherHandlersSucceeded(entities: Iterable<object>): Promise<boolean> {
  const promises: Promise<unknown>[] = [];
  for (const entity of entities) {
    const own = pending.get(entity);
    if (!own) continue;
    pending.delete(entity);
    promises.push(...own);
  }
  if (promises.length === 0) return true;
  return (await Promise.allSettled(promises)).every((r) => r.status === 'fulfilled');
}
