import type { SealedError } from '../errors';
import type { SealedColumn } from '../metadata/column-plan';
import type { FailureGroup, RowFailure } from './report';

const SAMPLES = 5;

/** The failures of one walk: the first `max` in full, and all of them grouped by column, code and reason. */
export class FailureTally {
  readonly list: RowFailure[] = [];
  private readonly groups = new Map<string, FailureGroup>();
  private count = 0;

  constructor(private readonly max: number) {}

  /** Records a failure of a row; `blindIndex` names the index column when an index walk met it. */
  add(sc: SealedColumn, primaryKey: string, error: SealedError, blindIndex?: string): void {
    this.count++;
    const where = { entity: sc.entity, column: sc.path, ...(blindIndex !== undefined ? { blindIndex } : {}) };
    if (this.list.length < this.max) {
      const failure: RowFailure = { ...where, primaryKey, code: error.code, message: error.message };
      if (error.keyId !== undefined) failure.keyId = error.keyId;
      this.list.push(failure);
    }
    const id = [sc.entity, sc.path, blindIndex ?? '', error.code, error.detail].join('\u0000');
    let group = this.groups.get(id);
    if (!group) this.groups.set(id, (group = { ...where, code: error.code, reason: error.detail, count: 0, samples: [] }));
    group.count++;
    if (group.samples.length < SAMPLES) group.samples.push(primaryKey);
  }

  /** Whether the walk must stop: `pending` more failures would reach `max`. */
  full(pending: number): boolean {
    return this.count + pending >= this.max;
  }

  get grouped(): FailureGroup[] {
    return [...this.groups.values()];
  }
}
