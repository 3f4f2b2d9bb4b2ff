import type { DataSource } from 'typeorm';
import { EntityListenerMetadata } from 'typeorm/metadata/EntityListenerMetadata.js';
import { cipherSubscribersOf } from '../cipher/registry';

/** Promises returned by the other before-insert/update handlers and not settled yet, per entity they were given. */
const pending = new WeakMap<object, Set<Promise<unknown>>>();
/** Entities for which another handler's promise rejected since the sealer last looked. */
const refusedBy = new WeakSet<object>();
/**
 * Promises of the handlers called in the current synchronous turn. TypeORM calls every handler of
 * a write in one loop, then awaits them all: a batch waits for all of them, including those of
 * other entities of the same `save()` (a handler of one entity may set a field of another).
 */
let turn: Set<Promise<unknown>> | undefined;

/** The handler promises of the current synchronous turn, so far and to come until it ends. */
export function handlersOfThisTurn(): ReadonlySet<Promise<unknown>> {
  if (!turn) {
    const current = (turn = new Set());
    queueMicrotask(() => {
      if (turn === current) turn = undefined;
    });
  }
  return turn;
}

/** Marks a handler wrapped by this copy of the package (another copy keeps its own bookkeeping). */
const WRAPPED = Symbol('typeorm-sealed.wrapped-handler');

type Handler = ((...args: unknown[]) => unknown) & { [WRAPPED]?: true };

/**
 * Wraps, once, TypeORM's entity listener call (`EntityListenerMetadata.prototype.execute`) so that
 * the promise an async `@BeforeInsert`/`@BeforeUpdate` method returns is noted against its entity
 * (see {@link trackOtherHandlers}). Done when the first sealed subscriber is made, before any
 * DataSource event: TypeORM calls entity listeners before any subscriber, so wrapping them at the
 * first event would be too late for that event. Other listeners and DataSources pay one
 * `instanceof Promise` per call.
 */
export function trackEntityListeners(): void {
  wrap(EntityListenerMetadata.prototype as unknown as Record<string, unknown>, 'execute', (args) => args[0]);
}

/**
 * Wraps, once, every other subscriber's `beforeInsert`/`beforeUpdate` on a DataSource (at the first
 * event, before TypeORM calls them: ours is called first) so that the promise an async handler
 * returns is noted against the entity it was given, until it settles; entity listeners are
 * tracked by {@link trackEntityListeners}.
 * The sealer waits for those promises before it seals: a handler that sets an encrypted field
 * after an `await` is sealed too, and an entity whose handler rejects (an async validation) is not
 * sealed: its operation fails and the caller's object keeps its plaintext. Handlers keep their
 * `this`, arguments and results. A handler that cannot be wrapped (a getter-only property, a frozen
 * subscriber) is left as it is: the sealer does not wait for it, and a change it makes after sealing
 * cannot reach the database (sealed fields return their envelopes until the write is done).
 */
export function trackOtherHandlers(dataSource: DataSource): void {
  const ours = new Set<object>(cipherSubscribersOf(dataSource));
  for (const subscriber of dataSource.subscribers as unknown as Record<string, unknown>[]) {
    if (ours.has(subscriber)) continue;
    for (const method of ['beforeInsert', 'beforeUpdate']) wrap(subscriber, method, (args) => (args[0] as { entity?: unknown } | undefined)?.entity);
  }
}

function wrap(target: Record<string, unknown>, method: string, entityOf: (args: unknown[]) => unknown): void {
  let original: Handler | undefined;
  try {
    original = target[method] as Handler | undefined;
    if (typeof original !== 'function' || original[WRAPPED]) return;
    const call = original;
    const wrapped: Handler = function (this: unknown, ...args: unknown[]) {
      const result = call.apply(this, args);
      const entity = entityOf(args);
      if (result instanceof Promise && typeof entity === 'object' && entity !== null) note(entity, result);
      return result;
    };
    wrapped[WRAPPED] = true;
    target[method] = wrapped;
  } catch {
    // A getter-only or frozen handler: not waited for (see trackOtherHandlers).
  }
}

/** Notes a handler's promise against its entity until it settles; a rejection marks the entity refused. */
function note(entity: object, promise: Promise<unknown>): void {
  let promises = pending.get(entity);
  if (!promises) pending.set(entity, (promises = new Set()));
  promises.add(promise);
  (handlersOfThisTurn() as Set<Promise<unknown>>).add(promise);
  const settled = (refused: boolean) => {
    promises.delete(promise);
    if (refused) refusedBy.add(entity);
  };
  promise.then(
    () => settled(false),
    () => settled(true),
  );
}

/**
 * Resolves once every other handler's promise for these entities, and every one of `alsoWaitFor`
 * (see {@link handlersOfThisTurn}), has settled, with the entities for which one rejected (their
 * writes will not happen: do not seal them).
 */
export async function refusedByOtherHandlers(entities: Iterable<object>, alsoWaitFor: ReadonlySet<Promise<unknown>>): Promise<ReadonlySet<object>> {
  const list = [...entities];
  const waits = [...alsoWaitFor, ...list.flatMap((entity) => [...(pending.get(entity) ?? [])])];
  if (waits.length > 0) await Promise.allSettled(waits);
  const refused = new Set<object>();
  for (const entity of list) {
    if (!refusedBy.has(entity)) continue;
    refusedBy.delete(entity);
    refused.add(entity);
  }
  return refused;
}
