/**
 * Single-quoting for values pasted into generated shell code: inside '...' nothing is special to any POSIX
 * shell, and each `'` becomes `'\''`. Values must not hold NUL or newlines (a newline would be kept literally,
 * but our generators never need one, so one is a sign of bad input).
 */
export function shQuote(value: string): string {
  if (/[\0\n\r]/.test(value)) throw new Error(`value ${JSON.stringify(value)} contains NUL or a line break`);
  return `'${value.replaceAll("'", "'\\''")}'`;
}
