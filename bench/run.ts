// npm run bench: every scenario of BENCHMARKS.md in one run, printed as a markdown table.
// BENCH_DIALECTS (default sqlite,postgres,mariadb), BENCH_REPS (5), BENCH_ROWS (10000),
// BENCH_ROTATION_ROWS (100000), BENCH_ROTATION_REPS (5), BENCH_SCENARIOS (orm,crypto,rotation).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { ensureDatabase, type Dialect } from './contenders';
import { cryptoBenchmarks } from './crypto';
import { ormBenchmarks, type OrmResult } from './orm';
import { rotationBenchmarks, type RotationResult } from './rotation';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const dialects = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres,mariadb').split(',').map((d) => d.trim()) as Dialect[];
const reps = env('BENCH_REPS', 5);
const rows = env('BENCH_ROWS', 10_000);
const rotationRows = env('BENCH_ROTATION_ROWS', 100_000);
const rotationReps = env('BENCH_ROTATION_REPS', 5);
const scenarios = (process.env.BENCH_SCENARIOS ?? 'orm,crypto,rotation').split(',').map((s) => s.trim());

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const ratio = (a: number, b: number) => `${fmt(a / b, 2)}x`;

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'sealed-bench-'));
  console.log(`# typeorm-sealed benchmarks\n`);
  console.log(`${new Date().toISOString()}; node ${process.version}; ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; ${Math.round(totalmem() / 2 ** 30)} GiB`);
  console.log(`dialects ${dialects.join(', ')}; ${reps} repetitions (medians); ${rows} rows; rotation ${rotationRows} rows x ${rotationReps}\n`);
  try {
    const orm: OrmResult[] = [];
    const rotation: RotationResult[] = [];
    for (const dialect of dialects) {
      await ensureDatabase(dialect);
      if (scenarios.includes('orm')) orm.push(...(await ormBenchmarks(dialect, join(dir, `${dialect}.sqlite`), rows, reps)));
      if (scenarios.includes('rotation')) rotation.push(await rotationBenchmarks(dialect, join(dir, `${dialect}-rotation.sqlite`), rotationRows, rotationReps));
    }
    const crypto = scenarios.includes('crypto') ? await cryptoBenchmarks(reps) : [];

    console.log('## TypeORM paths (median ms; ratios to plain TypeORM in the same run)\n');
    console.log('| scenario | dialect | plain | sealed | typeorm-encrypted | sealed / plain | typeorm-encrypted / plain | sealed / typeorm-encrypted |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of orm) {
      const { plain, sealed, 'typeorm-encrypted': te } = r.ms;
      console.log(
        `| ${r.scenario} | ${r.dialect} | ${fmt(plain)} | ${fmt(sealed)} | ${fmt(te)} | ${ratio(sealed, plain)} | ${ratio(te, plain)} | ${ratio(sealed, te)} |`,
      );
    }
    console.log('\n## Bulk paths against the AEAD floor (median ms)\n');
    console.log('The floor is the same number of native XChaCha20-Poly1305 operations alone (3 per row); the');
    console.log("library's own time is what sealed costs beyond plain TypeORM and the floor.\n");
    console.log("| scenario | dialect | plain | sealed | AEAD floor | library's own | own / floor |");
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const r of orm.filter((o) => o.floorMs !== undefined)) {
      const own = r.ms.sealed - r.ms.plain - r.floorMs!;
      console.log(
        `| ${r.scenario} | ${r.dialect} | ${fmt(r.ms.plain)} | ${fmt(r.ms.sealed)} | ${fmt(r.floorMs!)} | ${fmt(own)} | ${fmt((100 * own) / r.floorMs!, 0)}% |`,
      );
    }
    if (scenarios.includes('orm')) {
      const allocation = JSON.parse(
        execFileSync(process.execPath, ['--expose-gc', '--max-semi-space-size=256', join(__dirname, 'allocation.js')], { encoding: 'utf8' }),
      ) as { bytesPerValue: number };
      console.log(
        `\nAllocation per value opened by find() (SQLite, 500 rows, beyond a plain find(), rounds without GC): ${Math.round(allocation.bytesPerValue)} bytes`,
      );
    }
    console.log('\n## Crypto core (median µs per operation)\n');
    console.log(
      '| value | seal | open | seal, noble backend | open, noble backend | AES-256-GCM seal (typeorm-encrypted style) | AES-256-GCM open | seal / AES | open / AES |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const c of crypto) {
      console.log(
        `| ${c.size} | ${fmt(c.sealUs, 2)} | ${fmt(c.openUs, 2)} | ${fmt(c.nobleSealUs, 2)} | ${fmt(c.nobleOpenUs, 2)} | ${fmt(c.nativeSealUs, 2)} | ${fmt(c.nativeOpenUs, 2)} | ${ratio(c.sealUs, c.nativeSealUs)} | ${ratio(c.openUs, c.nativeOpenUs)} |`,
      );
    }
    console.log('\n## Rotation (median rows/s; largest live heap during KeyRotator.rotate, after GC at every batch)\n');
    console.log('| dialect | rows | KeyRotator.rotate | raw SQL rewrite | rotator / raw | live heap, small table | live heap, large table |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rotation) {
      console.log(
        `| ${r.dialect} | ${r.rows} | ${Math.round(r.rotatorRowsPerSec)} | ${Math.round(r.rawRowsPerSec)} | ${fmt((100 * r.rotatorRowsPerSec) / r.rawRowsPerSec, 0)}% | ${fmt(r.peakHeapSmallMb)} MB (${r.smallRows} rows) | ${fmt(r.peakHeapLargeMb)} MB (${r.rows} rows) |`,
      );
    }
    console.log(`\ntotal ${fmt((Date.now() - started) / 1000, 0)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
