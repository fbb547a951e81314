// CSV cells for files the user opens in a spreadsheet (an explanation's CSV, a session's CSV): one quoting
// rule for every export.

/** What a spreadsheet reads as the start of a formula (OWASP's CSV injection list). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell. Text that a spreadsheet would run as a formula (a prompt `=HYPERLINK(…)`, a token `-1+1`)
 * gets a leading `'`, which shows it as text; numbers are written as they are, so -0.12 stays a number.
 */
export function csvCell(v: string | number): string {
  const s = typeof v === 'number' ? String(v) : FORMULA_START.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows of cells as CSV text, one line per row, ending with a newline. */
export function csvRows(rows: Array<Array<string | number>>): string {
  return rows.map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}
