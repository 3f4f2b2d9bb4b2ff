/**
 * The entities one TypeORM write announces in a single broadcast (a `save()` of several subjects,
 * an `insert()` of an array), sealed together at the last moment before the write.
 *
 * TypeORM calls every before-insert/update handler (entity listeners, then subscribers in order)
 * synchronously, then awaits the promises they returned with `Promise.all`, then builds the SQL.
 * The batch is one of those promises. When it is awaited (`then`), it first waits for the other
 * handlers' promises (`ready`), then seals, so changes other handlers make to encrypted fields,
 * even after an `await`, are sealed too, whatever the order of the subscribers. An entity whose
 * handler rejects is not sealed (its operation fails; the caller's object keeps its plaintext),
 * while the other entities of the batch, which may belong to another operation on the same query
 * runner, are. When sealing one entity fails, every entity of the batch gets its plaintext back
 * before the write is refused.
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

  private work: (() => void) | undefined;

  /**
   * A batch that waits for `ready`, which gives the entities another handler refused (their
   * operation fails: they stay as they are), then runs `seal` for each other entity, then `done`
   * once all are sealed, and `undo` for all of them if one fails. The batch settles in every case.
   */
  static create<T>(
    ready: () => Promise<ReadonlySet<object>>,
    seal: (entity: object, target: T) => void,
    undo: (entity: object) => void,
    done: () => void,
  ): SealBatch<T> {
    let settle!: { resolve: () => void; reject: (e: unknown) => void };
    const batch = new SealBatch<T>((resolve, reject) => (settle = { resolve, reject }));
    batch.work = () => {
      ready().then(
        (refused) => {
          try {
            for (const [entity, target] of batch.entities) if (!refused.has(entity)) seal(entity, target);
            batch.complete = true;
            done();
            settle.resolve();
          } catch (e) {
            for (const entity of batch.entities.keys()) {
              try {
                undo(entity);
              } catch {
                // keep undoing the others; the write is refused below whatever happens
              }
            }
            settle.reject(e);
          }
        },
        (e: unknown) => settle.reject(e),
      );
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
