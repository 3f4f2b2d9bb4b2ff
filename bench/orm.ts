import type { DataSource, Repository } from 'typeorm';
import { CONTENDERS, open, type ContenderName, type Dialect, type Row } from './contenders';
import { aeadFloorMs } from './floor';
import { median, text, time } from './measure';

export interface OrmResult {
  scenario: string;
  dialect: Dialect;
  /** Median milliseconds per contender. */
  ms: Record<ContenderName, number>;
  /** Bulk scenarios: median ms of the same number of native XChaCha20-Poly1305 operations alone. */
  floorMs?: number;
}

const fresh = (i: number): Omit<Row, 'id'> => ({ name: text(i, 20), email: text(i + 1, 40), notes: text(i + 2, 200) });

/**
 * Scenarios 1-3 of BENCHMARKS.md on one dialect: bulk save, bulk find, findOneBy by key, and
 * save of one changed entity. Contenders take turns within each repetition, so drift in the
 * machine's load spreads over all of them.
 */
export async function ormBenchmarks(dialect: Dialect, sqliteFile: string, rows: number, reps: number): Promise<OrmResult[]> {
  const sources: { name: ContenderName; ds: DataSource; repo: Repository<Row> }[] = [];
  for (const c of CONTENDERS) {
    const ds = await open(dialect, sqliteFile, c.name, c.entity);
    sources.push({ name: c.name, ds, repo: ds.getRepository<Row>(c.entity) });
  }
  const samples: Record<string, Record<ContenderName, number[]>> = {};
  const record = (scenario: string, name: ContenderName, ms: number) => {
    samples[scenario] ??= { plain: [], sealed: [], 'typeorm-encrypted': [] };
    samples[scenario][name].push(ms);
  };
  const lookups = Math.min(rows, 1000);
  const singleSaves = 300;
  const floors: Record<string, number[]> = {};
  const insertScenario = `bulk insert: save() ${rows} rows, chunks of 500`;
  const loadScenario = `bulk load: find() ${rows} rows`;
  try {
    for (let rep = 0; rep < reps; rep++) {
      (floors[insertScenario] ??= []).push(await aeadFloorMs(rows, 'seal'));
      (floors[loadScenario] ??= []).push(await aeadFloorMs(rows, 'open'));
      for (const { name, repo } of rotate(sources, rep)) {
        await repo.clear();
        const entities = Array.from({ length: rows }, (_, i) => repo.create(fresh(i)));
        record(insertScenario, name, await time(() => repo.save(entities, { chunk: rows / 500 > 1 ? Math.ceil(rows / 500) : 1 })));
        record(loadScenario, name, await time(() => repo.find()));
        const ids = entities.map((e) => e.id);
        record(
          `findOneBy(id) x${lookups}`,
          name,
          await time(async () => {
            for (let i = 0; i < lookups; i++) await repo.findOneBy({ id: ids[(i * 7919) % ids.length]! });
          }),
        );
        const one = (await repo.findOneBy({ id: ids[0]! }))!;
        record(
          `save() one changed entity x${singleSaves}`,
          name,
          await time(async () => {
            for (let i = 0; i < singleSaves; i++) {
              one.email = text(i + 7, 40);
              await repo.save(one);
            }
          }),
        );
      }
    }
  } finally {
    for (const { ds } of sources) await ds.destroy();
  }
  return Object.entries(samples).map(([scenario, byContender]) => ({
    scenario,
    dialect,
    ms: { plain: median(byContender.plain), sealed: median(byContender.sealed), 'typeorm-encrypted': median(byContender['typeorm-encrypted']) },
    ...(floors[scenario] ? { floorMs: median(floors[scenario]) } : {}),
  }));
}

/** The contenders in a different order each repetition. */
function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
