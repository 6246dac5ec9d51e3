/**
 * The KEY=VALUE files the context CD carries (`common/network`, Snooze's format), read as data in the guest.
 *
 * Values are written single-quoted so that the guest's shell never expands them: `'` inside a value becomes
 * `'\''`. Keys are shell variable names. Parsing accepts what Snooze's own files hold (unquoted values,
 * empty values, comments, double-quoted text without `$`, backquote or backslash) and the single-quoted form we
 * write. The guest reads them with the same rules (sh/common/values.sh: read_values), and never sources them.
 */
import { shQuote } from '@vmctx/contract';

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function formatKeyValue(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([key, value]) => {
      if (!KEY.test(key)) throw new Error(`"${key}" is not a shell variable name`);
      if (value.includes('\n') || value.includes('\0')) throw new Error(`value of ${key} contains a newline or NUL`);
      return `${key}=${shQuote(value)}\n`;
    })
    .join('');
}

export function parseKeyValue(text: string, source = 'input'): Record<string, string> {
  const out: Record<string, string> = {};
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq) : '';
    if (!KEY.test(key)) throw new Error(`${source}:${index + 1}: expected KEY=VALUE, got ${JSON.stringify(raw)}`);
    out[key] = unquote(line.slice(eq + 1), `${source}:${index + 1}`);
  });
  return out;
}

function unquote(value: string, where: string): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i];
    if (c === "'") {
      const end = value.indexOf("'", i + 1);
      if (end < 0) throw new Error(`${where}: unterminated single quote`);
      out += value.slice(i + 1, end);
      i = end + 1;
    } else if (c === '\\' && i + 1 < value.length) {
      out += value[i + 1];
      i += 2;
    } else if (c === '"') {
      const end = value.indexOf('"', i + 1);
      if (end < 0) throw new Error(`${where}: unterminated double quote`);
      const text = value.slice(i + 1, end);
      if (/[$`\\]/.test(text)) throw new Error(`${where}: only plain double-quoted text is supported, found $, \` or \\ in it`);
      out += text;
      i = end + 1;
    } else if (c === '$' || c === '`') {
      throw new Error(`${where}: only plain or single-quoted values are supported, found ${c}`);
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}
