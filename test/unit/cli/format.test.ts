import { describeForeignError } from '../../../src/cli/foreign-error';
import { formatCensus, formatReport, toJson } from '../../../src/cli/format';
import type { RotationReport } from '../../../src/rotation/report';

/** What a terminal would act on: C0/C1 controls, DEL, line separators, bidi overrides. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
const HOSTILE_KEY = 'id=\u001b[2J\u001b[1;1H\r[ok] verify: complete\u009b31m\u202e\u200b\ufeff';

function report(overrides: Partial<RotationReport> = {}): RotationReport {
  return {
    mode: 'verify',
    status: 'failed',
    dryRun: false,
    activeKeyId: 'abcdef01',
    columns: [
      {
        entity: 'User',
        column: 'email',
        table: 'user',
        examined: 3,
        rewritten: 0,
        conflicts: 0,
        failed: 1,
        plaintext: 0,
        malformed: 0,
        remaining: 1,
        status: 'failed',
      },
    ],
    failures: [
      {
        entity: 'User',
        column: 'email',
        primaryKey: HOSTILE_KEY,
        code: 'SEALED_TAMPERED',
        message: `SEALED_TAMPERED: User.email (${HOSTILE_KEY}): authentication failed`,
      },
    ],
    failureGroups: [{ entity: 'User', column: 'email', code: 'SEALED_TAMPERED', reason: 'authentication failed', count: 1, samples: [HOSTILE_KEY] }],
    warnings: [`User.email: ${HOSTILE_KEY}`],
    durationMs: 12,
    ...overrides,
  };
}

describe('CLI output', () => {
  it('escapes control characters from stored data in text and JSON output', () => {
    const text = formatReport(report());
    expect(text).not.toMatch(UNSAFE);
    expect(text).toContain(
      '  User.email SEALED_TAMPERED: 1 row: authentication failed\n    id=\\x1b[2J\\x1b[1;1H\\r[ok] verify: complete\\x9b31m\\u202e\\u200b\\ufeff',
    );
    const json = toJson(report());
    expect(json).not.toMatch(UNSAFE);
    expect(JSON.parse(json).failures[0].primaryKey).toBe(HOSTILE_KEY);
    const census = formatCensus({ activeKeyId: 'abcdef01', columns: [], indexes: [], warnings: [HOSTILE_KEY] });
    expect(census).not.toMatch(UNSAFE);
    // table headings are escaped too (key ids come from stored data)
    const index = {
      entity: 'User',
      column: 'email',
      blindIndex: 'emailBlindIndex',
      table: 'user',
      values: 1,
      missing: 0,
      malformed: 0,
      unknownKeyIds: [],
      distinct: 1,
      largestBucket: 1,
      largestBucketShare: 1,
    };
    const hostile = formatCensus({ activeKeyId: 'abcdef01', columns: [], indexes: [{ ...index, byKeyId: { [HOSTILE_KEY]: 1 } }], warnings: [] });
    expect(hostile).not.toMatch(UNSAFE);
    expect(hostile).toContain('\\x1b[2J');
  });

  it('groups failures: one line per column, code and reason, with a count and samples', () => {
    const samples = ['id=1', 'id=2', 'id=3', 'id=4', 'id=5'];
    const text = formatReport(
      report({
        mode: 'encryptExisting',
        dryRun: true,
        failureGroups: [
          { entity: 'User', column: 'flag', code: 'SEALED_PLAINTEXT', reason: 'legacy value is not true/false/1/0 (expected boolean)', count: 1500, samples },
        ],
      }),
    );
    expect(text.split('\n').slice(text.split('\n').indexOf('failures:'))).toEqual([
      'failures:',
      '  User.flag SEALED_PLAINTEXT: 1500 rows: legacy value is not true/false/1/0 (expected boolean)',
      ...samples.map((key) => `    ${key}`),
      '    ... and 1495 more',
    ]);
    expect(text).toContain('would write');
    expect(text).toContain('would remain');
  });
});

describe('CLI messages', () => {
  it('describes driver errors without the values they quote', () => {
    const mysql = Object.assign(new Error("Duplicate entry 'alice@example.com' for key 'email'"), { code: 'ER_DUP_ENTRY' });
    expect(describeForeignError(mysql)).toBe("ER_DUP_ENTRY: Duplicate entry '…' for key '…'");
    const pg = Object.assign(new Error('invalid input syntax for type integer: "hunter22"\n\u001b[2J'), { driverError: { code: '22P02' } });
    expect(describeForeignError(pg)).toBe('22P02: invalid input syntax for type integer: "…"\\n\\x1b[2J');
  });
});
