// A live application writing to a SQLite file while the test rotates keys in its own process.
// Run by test/integration/sqlite-live-rotation.test.ts as: node writer.js <database file> <plan.json>
//
// plan.json: {
//   "ids": [...],                      the rows it writes to in its normal rounds
//   "sealed": { "<id>": "<envelope>" } for the rows whose email it may write, an envelope of
//                                      writer-<id>@example.com under the ring's ACTIVE key, made by
//                                      the test (this script has no keys)
//   "pauseMs": 1,                      idle time between two writes (a live app is not 100 % busy)
//   "holdEvery": 25, "holdMs": 20      every holdEvery-th write keeps its transaction (and the
//                                      write lock) open for holdMs, like a slow request
// }
//
// It opens the file with plain better-sqlite3 and a busy timeout, and until its stdin closes (or a
// line "stop" arrives) it writes, one transaction per round, to one row of sealed_user: the plain
// login column always, and every third round the encrypted email column too (of rows in "sealed").
// It never writes under the old key, so at the end every email must be under the active key.
// A line "hold <ms> <id> [exclusive]" on stdin makes the next round a long request: it writes login
// and email of row <id> (which may be one its normal rounds never touch), says {"event":"holding"}
// once it has the write lock, and keeps the lock for <ms>. With "exclusive" it begins with BEGIN
// EXCLUSIVE: in the rollback journal that lock keeps readers out too (in WAL it does not).
//
// stdout, one JSON object per line:
//   {"event":"ready"}
//   {"event":"progress","rounds":n}                               every 10 rounds
//   {"event":"holding"}                                           after "hold <ms>", lock taken
//   {"event":"result","rounds":n,"errors":[...],"writes":[...],"logins":{...},"emails":{...}}
// writes: [time (ms since the epoch, after the commit), id, 'login' | 'email'] per committed round.
// logins / emails: the last value this process committed per row.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const Database = require(join(__dirname, '..', '..', '..', 'node_modules', 'better-sqlite3'));

const [database, planFile] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planFile, 'utf8'));
const pauseMs = plan.pauseMs ?? 1;
const holdEvery = plan.holdEvery ?? 0;
const holdMs = plan.holdMs ?? 0;

// The busy timeout of a typical application: a write waits up to 5 s for the rotator's batch.
const db = new Database(database, { timeout: 5000 });
const setLogin = db.prepare('UPDATE sealed_user SET login = ? WHERE id = ?');
const setEmail = db.prepare('UPDATE sealed_user SET email = ? WHERE id = ?');

const result = { event: 'result', rounds: 0, journalMode: db.pragma('journal_mode', { simple: true }), errors: [], writes: [], logins: {}, emails: {} };
let stopping = false;
let holdNext; // { ms, id, exclusive } of the long request asked for

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Keeps the transaction open: a request that computes (or waits on something) while it holds the lock. */
function busyWait(ms) {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

// One request of the application: an IMMEDIATE transaction (takes the write lock at BEGIN and waits
// for it up to the busy timeout), as an application that reads and then writes must do on SQLite.
const request = db.transaction((id, login, email, hold, announce) => {
  if (setLogin.run(login, id).changes !== 1) throw new Error(`row ${id}: login not updated`);
  if (email !== undefined && setEmail.run(email, id).changes !== 1) throw new Error(`row ${id}: email not updated`);
  if (announce) send({ event: 'holding' });
  busyWait(hold);
});

function round() {
  if (stopping) return finish();
  const r = result.rounds++;
  const long = holdNext;
  holdNext = undefined;
  const id = long ? long.id : plan.ids[(r * 7919) % plan.ids.length];
  const login = `writer-${r}`;
  const writesEmail = plan.sealed[id] !== undefined && (long !== undefined || r % 3 === 0);
  const hold = long ? long.ms : holdEvery > 0 && r % holdEvery === holdEvery - 1 ? holdMs : 0;
  try {
    request[long?.exclusive ? 'exclusive' : 'immediate'](id, login, writesEmail ? plan.sealed[id] : undefined, hold, long !== undefined);
    const at = Date.now();
    result.logins[id] = login;
    result.writes.push([at, id, 'login']);
    if (writesEmail) {
      result.emails[id] = `writer-${id}@example.com`;
      result.writes.push([at, id, 'email']);
    }
  } catch (e) {
    result.errors.push({ round: r, code: String(e && e.code), message: String(e && e.message) });
  }
  if (result.rounds % 10 === 0) send({ event: 'progress', rounds: result.rounds });
  setTimeout(round, pauseMs);
}

function finish() {
  db.close();
  send(result);
  process.stdin.destroy();
  clearTimeout(safety);
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (input + chunk).split('\n');
  input = lines.pop();
  for (const line of lines) {
    const [command, ms, id, mode] = line.trim().split(/\s+/);
    if (command === 'stop') stopping = true;
    else if (command === 'hold') holdNext = { ms: Number(ms), id: Number(id), exclusive: mode === 'exclusive' };
  }
});
process.stdin.on('end', () => (stopping = true));
// Never outlive a test that forgot it: stop on our own after 110 s.
const safety = setTimeout(() => (stopping = true), 110_000);

send({ event: 'ready' });
round();
