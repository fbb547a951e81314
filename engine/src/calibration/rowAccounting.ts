// Counts what happened to every dataset row so each report can say how many rows were used, skipped and why.
import type { RowAccounting } from '../../../common/protocol';

export class RowAccountant {
  private rowsRead = 0;
  private rowsUsed = 0;
  private readonly skipped = new Map<string, number>();
  private truncated = 0;

  read(): void {
    this.rowsRead++;
  }

  used(): void {
    this.rowsUsed++;
  }

  skip(reason: string, count = 1): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + count);
  }

  truncatedRow(): void {
    this.truncated++;
  }

  snapshot(): RowAccounting {
    const skipped = Object.fromEntries(this.skipped);
    return {
      rowsRead: this.rowsRead,
      rowsUsed: this.rowsUsed,
      rowsSkipped: [...this.skipped.values()].reduce((a, b) => a + b, 0),
      skipped,
      truncated: this.truncated,
    };
  }
}

/** One line for logs and the CLI: "2800 rows read, 2795 used, 5 skipped (empty text: 3, …)". */
export function describeRows(rows: RowAccounting): string {
  const reasons = Object.entries(rows.skipped).map(([reason, n]) => `${reason}: ${n}`);
  const parts = [`${rows.rowsRead} rows read`, `${rows.rowsUsed} used`, `${rows.rowsSkipped} skipped`];
  let line = parts.join(', ') + (reasons.length ? ` (${reasons.join('; ')})` : '');
  if (rows.truncated) line += `, ${rows.truncated} truncated to the context`;
  return line;
}
