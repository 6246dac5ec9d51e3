/**
 * Sizes of a context checked before it is parsed. Parsing is what costs: the yaml library folds a 20 MB
 * double-quoted scalar in ~800 MB and seconds, only for the schema to refuse it afterwards. So, before:
 *  - the file: at most MAX_CONTEXT_BYTES, checked on its size before it is read (`readContextText`);
 *  - each file or script content: at most MAX_CONTENT_BYTES (the schema's limit), checked on the text's tokens
 *    (yaml's lexer and CST parser: linear, no value is built) by a lower bound of its length, so that nothing the
 *    schema would take is refused here (`contentSizeProblem`).
 */
import { open } from 'node:fs/promises';
import { Parser, type CST } from 'yaml';
import { MAX_CONTENT_BYTES, MAX_CONTEXT_BYTES } from './context-limits.js';
import { GuestScriptError } from './errors.js';

const MiB = (n: number) => `${n / 2 ** 20} MiB`;

/** Refuses a context text longer than MAX_CONTEXT_BYTES, or with a content longer than MAX_CONTENT_BYTES. */
export function checkContextText(text: string, source = 'context'): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONTEXT_BYTES) throw tooLarge(source, bytes);
  const problem = contentSizeProblem(text);
  if (problem !== undefined) {
    throw new GuestScriptError(
      'GUEST_INVALID_CONTEXT',
      `${source}: ${problem.path} is at least ${problem.bytes} bytes, more than a file content may have (${MAX_CONTENT_BYTES} bytes, ${MiB(MAX_CONTENT_BYTES)}); refused before parsing`,
      problem.path,
    );
  }
}

/** A context file's text, refused by its size before it is read (a 3 GB file is never read into memory). */
export async function readContextText(path: string): Promise<string> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new GuestScriptError('GUEST_INVALID_CONTEXT', `${path}: ${error.code === 'ENOENT' ? 'no such file or folder' : error.message}`, path);
  });
  try {
    const { size } = await handle.stat();
    if (size > MAX_CONTEXT_BYTES) throw tooLarge(path, size);
    const text = await handle.readFile('utf8');
    checkContextText(text, path);
    return text;
  } finally {
    await handle.close();
  }
}

function tooLarge(source: string, bytes: number): GuestScriptError {
  return new GuestScriptError(
    'GUEST_INVALID_CONTEXT',
    `${source}: ${bytes} bytes, more than a context may have (${MAX_CONTEXT_BYTES} bytes, ${MiB(MAX_CONTEXT_BYTES)}: one file content of at most ${MiB(MAX_CONTENT_BYTES)}, even as base64, and the rest); refused before parsing`,
    source,
  );
}

const CONTENT_KEYS = new Set(['content', 'contentBase64']);

/**
 * The first `content` or `contentBase64` value whose length is above MAX_CONTENT_BYTES for certain, judged from
 * the tokens alone. Its length is bounded from below: the characters that are not white space (folded lines and
 * indentation may go) and not the overhead of an escape (`\x41` is one character); for base64, three quarters of
 * them, its padding left out. Anything the lexer cannot read is left to the parser, which says what is wrong.
 */
export function contentSizeProblem(text: string): { path: string; bytes: number } | undefined {
  // A value is never longer than its source in UTF-16 units (escapes, folding and indentation only shorten it; an
  // alias repeats a value that is in the text once), and a unit is at most 3 bytes of UTF-8: a text of up to a third
  // of the limit holds no content over it, and needs no pass of the lexer (about 1 ms per KiB before it warms up).
  if (3 * text.length <= MAX_CONTENT_BYTES) return undefined;
  let found: { path: string; bytes: number } | undefined;
  const visit = (token: CST.Token | undefined, path: string, key: string | undefined): void => {
    if (token === undefined || found !== undefined) return;
    switch (token.type) {
      case 'document':
        visit(token.value, path, undefined);
        return;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        let index = 0;
        for (const item of token.items) {
          const isPair = ('key' in item && item.key != null) || (item.sep ?? []).some((t) => t.type === 'map-value-ind');
          if (isPair && token.type !== 'block-seq') {
            const name = item.key != null && isScalarToken(item.key) ? scalarText(item.key) : undefined;
            visit(item.value, name === undefined ? path : join(path, name), name);
          } else if (item.value !== undefined) {
            visit(item.value, `${path}[${index}]`, undefined);
            index++;
          }
        }
        return;
      }
      default:
        if (key === undefined || !CONTENT_KEYS.has(key) || !isScalarToken(token)) return;
        // Base64: six bits a character, its '=' padding none.
        const bytes = key === 'contentBase64' ? Math.floor((lowerBound(token, true) * 3) / 4) : lowerBound(token, false);
        if (bytes > MAX_CONTENT_BYTES) found = { path, bytes };
    }
  };
  try {
    for (const token of new Parser().parse(text)) visit(token, '', undefined);
  } catch {
    return undefined;
  }
  return found;
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

type ScalarToken = CST.FlowScalar | CST.BlockScalar;
const isScalarToken = (token: CST.Token): token is ScalarToken =>
  token.type === 'scalar' || token.type === 'single-quoted-scalar' || token.type === 'double-quoted-scalar' || token.type === 'block-scalar';

/** A key as written, its quotes taken off (keys here are plain words). */
function scalarText(token: ScalarToken): string {
  const s = token.source;
  return token.type === 'single-quoted-scalar' || token.type === 'double-quoted-scalar' ? s.slice(1, -1) : s;
}

/** At least this many characters are in the scalar's value (its '=' left out for base64). */
function lowerBound(token: ScalarToken, base64: boolean): number {
  const s = token.source;
  const quoted = token.type === 'single-quoted-scalar' || token.type === 'double-quoted-scalar';
  let count = 0;
  for (let i = quoted ? 1 : 0, end = quoted ? s.length - 1 : s.length; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || (base64 && c === 0x3d)) continue;
    if (token.type === 'double-quoted-scalar' && c === 0x5c /* \ */) {
      const next = s[i + 1];
      // \xXX, \uXXXX and \UXXXXXXXX are one character; an escaped line break is none.
      i += next === 'x' ? 3 : next === 'u' ? 5 : next === 'U' ? 9 : 1;
      if (next !== '\n' && next !== '\r') count++;
      continue;
    }
    if (token.type === 'single-quoted-scalar' && c === 0x27 /* ' */) i++; // '' is one quote
    count++;
  }
  return count;
}
