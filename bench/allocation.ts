// Bytes allocated per value opened, measured in a child process started with a young generation
// large enough that no garbage collection runs inside a measured round (checked; a round with a
// collection is discarded). Run by run.ts as: node --max-semi-space-size=256 build/bench/allocation.js
import 'reflect-metadata';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { DataSource, type DataSourceOptions, type Repository } from 'typeorm';
import { generateKey, KeyRing, sealedSubscriber } from '../src';
import { PlainRow, SealedRow, type Row } from './contenders';
import { median, text } from './measure';

const ROWS = 500;
const ROUNDS = 15;

async function bytesPerFind(repo: Repository<Row>, collections: { count: number }): Promise<number[]> {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    (globalThis as { gc?: () => void }).gc?.();
    const before = collections.count;
    const heap = getHeapStatistics().used_heap_size;
    await repo.find();
    const after = getHeapStatistics().used_heap_size;
    if (collections.count === before) samples.push(after - heap);
  }
  return samples;
}

async function main(): Promise<void> {
  const collections = { count: 0 };
  new PerformanceObserver((list) => (collections.count += list.getEntries().length)).observe({ entryTypes: ['gc'] });
  const result: Record<string, number> = {};
  for (const [name, entity] of [
    ['plain', PlainRow],
    ['sealed', SealedRow],
  ] as const) {
    const ds = await new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      entities: [entity],
      subscribers: name === 'sealed' ? [sealedSubscriber({ keys: new KeyRing({ active: generateKey() }) })] : [],
      synchronize: true,
    } as DataSourceOptions).initialize();
    const repo = ds.getRepository<Row>(entity);
    await repo.save(Array.from({ length: ROWS }, (_, i) => repo.create({ name: text(i, 20), email: text(i + 1, 40), notes: text(i + 2, 200) })));
    for (let i = 0; i < 3; i++) await repo.find();
    const samples = await bytesPerFind(repo, collections);
    if (samples.length < 3) throw new Error('garbage collection ran in most rounds: raise --max-semi-space-size');
    result[name] = median(samples);
    await ds.destroy();
  }
  // Per value opened: what a sealed find() allocates beyond a plain one, over the values it opens.
  console.log(JSON.stringify({ bytesPerValue: (result.sealed! - result.plain!) / (ROWS * 3), plainBytesPerRow: result.plain! / ROWS }));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
