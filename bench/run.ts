// npm run bench: every scenario of BENCHMARKS.md in one run, printed as a markdown table.
// BENCH_DIALECTS (default sqlite,postgres,mariadb), BENCH_REPS (5), BENCH_ROWS (10000),
// BENCH_ROTATION_ROWS (100000), BENCH_ROTATION_REPS (5), BENCH_LOOKUP_ROWS (100000),
// BENCH_SCENARIOS (orm,crypto,rotation,lookup,scopes).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { ensureDatabase, type Dialect } from './contenders';
import { cryptoBenchmarks } from './crypto';
import { indexCostBenchmarks, type IndexCostResult } from './index-cost';
import { lookupBenchmarks, type LookupResult } from './lookup';
import { ormBenchmarks, type OrmResult } from './orm';
import { rotationBenchmarks, type RotationResult } from './rotation';
import { rowBindingBenchmarks, scopeBenchmarks, type RowBindingResult, type ScopeResult } from './scopes';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const dialects = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres,mariadb').split(',').map((d) => d.trim()) as Dialect[];
const reps = env('BENCH_REPS', 5);
const rows = env('BENCH_ROWS', 10_000);
const rotationRows = env('BENCH_ROTATION_ROWS', 100_000);
const rotationReps = env('BENCH_ROTATION_REPS', 5);
const lookupRows = env('BENCH_LOOKUP_ROWS', 100_000);
const scenarios = (process.env.BENCH_SCENARIOS ?? 'orm,crypto,rotation,lookup,scopes').split(',').map((s) => s.trim());

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const ratio = (a: number, b: number) => `${fmt(a / b, 2)}x`;

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'sealed-bench-'));
  console.log(`# typeorm-sealed benchmarks\n`);
  console.log(`${new Date().toISOString()}; node ${process.version}; ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; ${Math.round(totalmem() / 2 ** 30)} GiB`);
  console.log(
    `dialects ${dialects.join(', ')}; ${reps} repetitions (medians); ${rows} rows; rotation ${rotationRows} rows x ${rotationReps}; lookups ${lookupRows} rows\n`,
  );
  try {
    const orm: OrmResult[] = [];
    const rotation: RotationResult[] = [];
    const lookup: LookupResult[] = [];
    const indexCost: IndexCostResult[] = [];
    const scopes: ScopeResult[] = [];
    for (const dialect of dialects) {
      await ensureDatabase(dialect);
      if (scenarios.includes('orm')) orm.push(...(await ormBenchmarks(dialect, join(dir, `${dialect}.sqlite`), rows, reps)));
      if (scenarios.includes('rotation')) rotation.push(await rotationBenchmarks(dialect, join(dir, `${dialect}-rotation.sqlite`), rotationRows, rotationReps));
      if (scenarios.includes('lookup')) {
        lookup.push(await lookupBenchmarks(dialect, join(dir, `${dialect}-lookup.sqlite`), lookupRows, reps));
        indexCost.push(...(await indexCostBenchmarks(dialect, join(dir, `${dialect}-index.sqlite`), rows, reps)));
      }
      if (scenarios.includes('scopes')) scopes.push(await scopeBenchmarks(dialect, join(dir, `${dialect}-scopes.sqlite`), rows, reps));
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
    if (scenarios.includes('lookup')) printBlindIndex(lookup, indexCost);
    if (scenarios.includes('scopes')) printScopes(scopes, await rowBindingBenchmarks(reps));
    console.log(`\ntotal ${fmt((Date.now() - started) / 1000, 0)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The tables of the `lookup` scenario: blind index lookups, and what an index adds to a bulk insert. */
function printBlindIndex(lookup: LookupResult[], indexCost: IndexCostResult[]): void {
  console.log('\n## Blind index lookups (median ms per lookup; ratio in the same run)\n');
  console.log('`findOneBy({ email })` of random existing addresses: plain TypeORM on an indexed varchar, and');
  console.log('`sealedRepository(repo).findOneBy({ email })` on a unique blind index (normalised, 128 bits).\n');
  console.log('"Crypto alone" is the library\'s cryptography per lookup (index value, one open, the re-check) with nothing');
  console.log('else, each measured between two database round trips, as it runs in a lookup.\n');
  console.log('| dialect | rows | lookups per repetition | plain | sealed | sealed / plain | crypto alone | fill plain (s) | fill sealed (s) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of lookup) {
    console.log(
      `| ${r.dialect} | ${r.rows} | ${r.lookups} | ${fmt(r.plainMs, 3)} | ${fmt(r.sealedMs, 3)} | ${ratio(r.sealedMs, r.plainMs)} | ${fmt(r.cryptoMs, 3)} | ${fmt(r.plainFillS)} | ${fmt(r.sealedFillS)} |`,
    );
  }
  console.log('\n## Blind index cost on bulk insert (median ms; save() in chunks of 500)\n');
  console.log('The same entity with `@Encrypted()` and with `@Encrypted({ index })` on `email`. "Hand-filled column" is');
  console.log('`@Encrypted()` with an ordinary unique varchar column like the index column, given values computed');
  console.log('beforehand: what the database and TypeORM charge for the column and its index. "Index values alone"');
  console.log("is the same number of index values computed by the library with nothing else; the library's own");
  console.log('is what the index costs beyond both.\n');
  console.log(
    "| dialect | fields | rows | @Encrypted() | @Encrypted({ index }) | index / no index | hand-filled column | hand-filled / no index | index values alone | library's own |",
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of indexCost) {
    console.log(
      `| ${r.dialect} | ${r.shape} | ${r.rows} | ${fmt(r.offMs)} | ${fmt(r.onMs)} | ${ratio(r.onMs, r.offMs)} | ${fmt(r.handMs)} | ${ratio(r.handMs, r.offMs)} | ${fmt(r.indexValuesMs)} | ${fmt(r.onMs - r.handMs - r.indexValuesMs)} |`,
    );
  }
}

/** The table of the `scopes` scenario: what choosing the key per row (per tenant) costs. */
function printScopes(scopes: ScopeResult[], rows: RowBindingResult): void {
  console.log('\n## Per-tenant keys (KeyVault; median ms; ratio in the same run)\n');
  console.log("The three-field row with every field `@Encrypted({ scope: 'tenantId' })` and with none, bulk saved");
  console.log('(chunks of 500) over 100 tenants whose keys exist, then read back with find(); and one-off costs:');
  console.log('a save() of one row for a tenant with a key and for a new tenant (its key is created: a SELECT, a');
  console.log('wrap checked by an unwrap, an INSERT), and a findOneBy() in a process that has the key loaded and in');
  console.log('one that must fetch and unwrap a key another process created since.\n');
  console.log(
    '| dialect | rows | insert unscoped | insert scoped | scoped / unscoped | find unscoped | find scoped | scoped / unscoped | save, known tenant | save, new tenant | read, key loaded | read, key fetched |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of scopes) {
    console.log(
      `| ${r.dialect} | ${r.rows} | ${fmt(r.insertMs.unscoped)} | ${fmt(r.insertMs.scoped)} | ${ratio(r.insertMs.scoped, r.insertMs.unscoped)} | ${fmt(r.findMs.unscoped)} | ${fmt(r.findMs.scoped)} | ${ratio(r.findMs.scoped, r.findMs.unscoped)} | ${fmt(r.saveExistingMs, 2)} | ${fmt(r.saveNewTenantMs, 2)} | ${fmt(r.readLoadedMs, 2)} | ${fmt(r.readFetchedMs, 2)} |`,
    );
  }
  console.log('\n## Row binding (median µs per operation, a 40-character string, field cipher alone)\n');
  console.log('| binding | seal | open |');
  console.log('| --- | ---: | ---: |');
  console.log(`| table and column | ${fmt(rows.unboundUs.seal, 2)} | ${fmt(rows.unboundUs.open, 2)} |`);
  console.log(`| table, column and row (uuid key) | ${fmt(rows.boundUs.seal, 2)} | ${fmt(rows.boundUs.open, 2)} |`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
