import type { DataSource } from 'typeorm';
import { EntityListenerMetadata } from 'typeorm/metadata/EntityListenerMetadata.js';
import { cipherSubscribersOf } from '../cipher/registry';

/**
 * The handlers called in one synchronous turn. TypeORM calls every handler of a write in one loop,
 * then awaits them all: a batch waits for all of them, including those of other entities of the
 * same `save()` (a handler of one entity may set a field of another), and skips the entities one
 * of them refused.
 */
export interface HandlerTurn {
  /** The promises the handlers returned. */
  readonly promises: Set<Promise<unknown>>;
  /** Entities for which one of those promises rejected (their writes will not happen). */
  readonly refused: Set<object>;
}

let turn: HandlerTurn | undefined;

/** The handlers of the current synchronous turn, so far and to come until it ends. */
export function handlersOfThisTurn(): HandlerTurn {
  if (!turn) {
    const current = (turn = { promises: new Set(), refused: new Set() });
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
 * the promise an async `@BeforeInsert`/`@BeforeUpdate` method returns is noted with its entity
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
 * returns is noted in its turn (see {@link handlersOfThisTurn}) with the entity it was given;
 * entity listeners are tracked by {@link trackEntityListeners}.
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

/** Notes a handler's promise in the current turn; a rejection marks its entity refused. */
function note(entity: object, promise: Promise<unknown>): void {
  const current = handlersOfThisTurn();
  current.promises.add(promise);
  promise.then(
    () => undefined,
    () => current.refused.add(entity),
  );
}

/**
 * Resolves once every handler promise of a turn has settled, with the entities one of them
 * refused (do not seal them).
 */
export async function refusedByOtherHandlers(handlers: HandlerTurn): Promise<ReadonlySet<object>> {
  if (handlers.promises.size > 0) await Promise.allSettled(handlers.promises);
  return handlers.refused;
}
