// Writes notes and reads them back through typeorm-sealed's ES module entry; prints what the
// database holds, what was read, and whether require() gives the same module instance.
import { createRequire } from 'node:module';
import * as sealed from 'typeorm-sealed';
import dataSource from './data-source.js';
import { Note } from './note.js';

const required = createRequire(import.meta.url)('typeorm-sealed') as typeof sealed;
await dataSource.initialize();
try {
  const notes = dataSource.getRepository(Note);
  await notes.clear();
  await notes.save([notes.create({ title: 'one', body: 'first secret' }), notes.create({ title: 'two', body: 'second secret' })]);
  const stored: { body: string }[] = await dataSource.query('SELECT body FROM esm_consumer_note ORDER BY id');
  const read = await notes.find({ order: { id: 'ASC' } });
  const oneInstance = required.SealedError === sealed.SealedError && required.Encrypted === sealed.Encrypted;
  console.log(JSON.stringify({ stored: stored.map((row) => row.body), read: read.map((note) => note.body), oneInstance }));
} finally {
  await dataSource.destroy();
}
