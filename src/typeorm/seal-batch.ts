/**
 * The entities one TypeORM write announces in a single broadcast (a `save()` of several subjects,
 * an `insert()` of an array), sealed together at the last moment before the write.
 *
 * TypeORM calls every before-insert/update handler (entity listeners, then subscribers in order)
 * synchronously, then awaits the promises they returned with `Promise.all`, then builds the SQL.
 * The batch is one of those promises. When it is awaited (`then`), it first waits for the other
 * handlers' promises (`ready`), then seals, so changes other handlers make to encrypted fields,
 * even after an `await`, are sealed too, whatever the order of the subscribers. When a handler
 * throws or rejects, nothing is sealed and the caller's objects keep their plaintext. When sealing
 * one entity fails, every entity of the batch gets its plaintext back before the write is refused.
 */
export class SealBatch<T> extends Promise<void> {
  // Promises derived with then/catch are plain promises, not batches.
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  /** Entities in announcement order, each with what sealing it needs; the work runs once, on the first `then`. */
  readonly entities = new Map<object, T>();
  /** Entities of the batch that hold sealed values now (sealed, not yet restored). */
  outstanding = 0;
  /** Whether every entity of the batch was sealed. */
  complete = false;
  /**
   * Whether a write statement carrying one of the batch's envelopes was sent: the batch's
   * operation has built its values (TypeORM's `save()` captures all of them before its first
   * statement; `insert()` and `update()` send one).
   */
  writing = false;
  private work: (() => void) | undefined;

  /**
   * A batch that waits for `ready` (false: the write is off, seal nothing), then runs `seal` for
   * each of its entities, then `done` once all are sealed, and `undo` for all of them if one fails.
   */
  static create<T>(
    ready: (entities: Iterable<object>) => Promise<boolean>,
    seal: (entity: object, target: T) => void,
    undo: (entity: object) => void,
    done: () => void,
  ): SealBatch<T> {
    let settle!: { resolve: () => void; reject: (e: unknown) => void };
    const batch = new SealBatch<T>((resolve, reject) => (settle = { resolve, reject }));
    batch.work = () => {
      void ready(batch.entities.keys()).then((go) => {
        if (!go) return settle.resolve();
        try {
          for (const [entity, target] of batch.entities) seal(entity, target);
          batch.complete = true;
          done();
          settle.resolve();
        } catch (e) {
          for (const entity of batch.entities.keys()) undo(entity);
          settle.reject(e);
        }
      });
    };
    return batch;
  }

  /** Whether sealing has run. */
  get sealed(): boolean {
    return this.work === undefined;
  }

  override then<A = void, B = never>(
    onFulfilled?: ((value: void) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const work = this.work;
    this.work = undefined;
    work?.();
    return super.then(onFulfilled, onRejected);
  }
}
