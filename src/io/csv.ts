// CSV (RFC 4180) as the dashboard serves its tables: a header row, then one row per record.
// Strings that a spreadsheet would run as a formula (= + - @, tab, CR first) are prefixed with '
// (OWASP's CSV-injection advice): store strings are user-supplied (errors, recipes, worker names).

export type CsvCell = string | number | boolean | null | undefined;

const FORMULA = /^[=+\-@\t\r]/;

function cell(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (typeof v === 'string' && FORMULA.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The table as CSV text, CRLF line ends as RFC 4180 has them. */
export function toCsv(header: string[], rows: CsvCell[][]): string {
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
