import type { RotationProgress } from '../rotation/report';

/** What the printer shows: a walk's progress, or any other (a rewrap's, over the key table). */
type Progress = Pick<RotationProgress, 'entity' | 'column' | 'done' | 'total' | 'rate'>;

/** Where progress goes: stderr, a TTY or not. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

const BAR = 24;
const LINE_EVERY_MS = 2000;

/**
 * Shows walk progress: a redrawn bar on a terminal, plain lines (at most one every 2 s per
 * column, plus its last) when output is a file or pipe.
 */
export function progressPrinter(stream: ProgressStream): { update: (p: Progress) => void; end: () => void } {
  let current: string | undefined;
  let lastLine = 0;
  let last: Progress | undefined;
  /** Whether the latest state is already on screen as a plain line. */
  let printed = false;
  const describe = (p: Progress) => {
    const share = p.total > 0 ? Math.min(p.done / p.total, 1) : 1;
    return { where: `${p.entity}.${p.column}`, share, counts: `${p.done}/${p.total} rows, ${Math.round(p.rate)} rows/s` };
  };
  const finishColumn = () => {
    if (!last) return;
    const { where, share, counts } = describe(last);
    if (stream.isTTY) stream.write('\n');
    else if (!printed) stream.write(`${where}: ${Math.round(share * 100)}% ${counts}\n`);
  };
  return {
    update(p) {
      const { where, share, counts } = describe(p);
      if (where !== current) {
        finishColumn();
        current = where;
        lastLine = 0;
      }
      last = p;
      printed = false;
      if (stream.isTTY) {
        const filled = Math.round(share * BAR);
        stream.write(`\r\x1b[2K${where} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${Math.round(share * 100)}% ${counts}`);
      } else if (Date.now() - lastLine >= LINE_EVERY_MS) {
        lastLine = Date.now();
        printed = true;
        stream.write(`${where}: ${Math.round(share * 100)}% ${counts}\n`);
      }
    },
    end() {
      finishColumn();
      last = undefined;
      current = undefined;
    },
  };
}
