/**
 * The characters a deployment file may hold. Its strings become domain XML, file names and remote command lines
 * on the controllers, and lines on the terminal of whoever runs `vmctx plan`; its text is what a reviewer reads.
 * So, anywhere but inline file contents (a context's `files[i].content` and `scripts[i].content`, written to the
 * guest byte for byte, whatever they hold):
 *  - no control character: C0 but tab and line feed, DEL, and C1 (U+0080-U+009F: U+009B is the 8-bit CSI, which
 *    terminals read as the start of an escape sequence);
 *  - no bidi control (UAX #9: U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), which shows text in another
 *    order than it is read ("Trojan Source", CVE-2021-42574): in a value, a key, a comment, an anchor or an alias;
 *  - in a value or key, no U+FFFD (what a decoder puts for bytes that were not UTF-8: file-text.ts refuses such
 *    a file, this catches text decoded elsewhere) and no lone surrogate (UTF-8 cannot hold one).
 * Each field's own rules (a name's letters, a path without tab or newline) are the schema's and checks.ts's;
 * template-renderer's domainNameProblem holds VM names to the same characters (characters.spec.ts checks that the
 * two agree).
 */
import { LineCounter, Parser } from 'yaml';
import type { LocatedProblem, Path } from './problems.js';
import { formatPath } from './problems.js';

const CODE = 'CONFIG_UNSAFE_TEXT';

/** Said once each, top to bottom; a file that holds more says how many more. */
const MAX_REPORTED = 20;
/** Placed in the file (their line found) before the first MAX_REPORTED are picked; the rest only counted. */
const MAX_PLACED = 1000;

/** UAX #9's explicit formatting characters, by name. */
const BIDI_NAMES: Readonly<Record<number, string>> = {
  0x061c: 'ARABIC LETTER MARK',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
};

// eslint-disable-next-line no-control-regex
const IN_VALUE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd]|\p{Cs}/u;
/** In the file's text around the values (comments, anchors...): the same, but carriage return (CRLF line ends) and U+FFFD. */
// eslint-disable-next-line no-control-regex
const IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** What is wrong with `c`, a character IN_VALUE matched. */
function describeCharacter(c: string): string {
  const cp = c.codePointAt(0)!;
  const u = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  if (cp === 0xfffd) return `${u}, the mark of bytes that were not UTF-8`;
  if (cp >= 0xd800 && cp <= 0xdfff) return `a lone surrogate (${u}), which UTF-8 cannot hold`;
  const bidi = BIDI_NAMES[cp];
  if (bidi !== undefined) return `${u} (${bidi}), a bidi control: it shows text in another order than it is read`;
  if (cp === 0x9b) return `${u}, a C1 control character (the 8-bit CSI: terminals read it as an escape sequence)`;
  return `${u}, a ${cp >= 0x80 ? 'C1 ' : ''}control character`;
}

/** The first character of a value or key that IN_VALUE refuses, as "U+..., at character N". */
function firstUnsafe(text: string): string | undefined {
  const found = IN_VALUE.exec(text);
  if (found === null) return undefined;
  return `${describeCharacter(found[0])}, at character ${[...text.slice(0, found.index)].length + 1}`;
}

/** A path as the walk keeps it: each step points at the one above (no copy of the whole path a level). */
type Trail = { up: Trail; key: string | number; depth: number } | undefined;

function pathOf(trail: Trail): Path {
  const path: (string | number)[] = [];
  for (let t = trail; t !== undefined; t = t.up) path.push(t.key);
  return path.reverse();
}

/** An inline file or script content of a context (`vms[i].context.files[j].content`...): any text. */
function isContent(trail: Trail): boolean {
  if (trail === undefined || (trail.depth !== 5 && trail.depth !== 6) || trail.key !== 'content') return false;
  const path = pathOf(trail);
  const [list, index] = [path[path.length - 3], path[path.length - 2]];
  if (path[path.length - 4] !== 'context' || (list !== 'files' && list !== 'scripts') || typeof index !== 'number') return false;
  return path.length === 6 ? path[0] === 'vms' && typeof path[1] === 'number' : path[0] === 'defaults';
}

/**
 * The keys and string values of the parsed file (`value`) and the comments, anchors, aliases or directives of its
 * `text` that hold a character refused above, with their path and line, top to bottom; empty when there is none.
 */
export function unsafeCharacterProblems(text: string, value: unknown, lineOf: (path: Path) => number | undefined): LocatedProblem[] {
  const found: LocatedProblem[] = [];
  let unplaced = 0;
  const add = (problem: () => Omit<LocatedProblem, 'code' | 'kind'>) => {
    if (found.length < MAX_PLACED) found.push({ ...problem(), code: CODE, kind: 'input' });
    else unplaced++;
  };

  // Values and keys, depth first with an explicit stack: a deep document must not overflow the call stack.
  // Aliases may share a node between paths (each path is checked, since contents are exempt by path) or make a
  // cycle (a node is not entered again while it is on the path: `onPath`, left when its exit mark comes back).
  type Step = { node: unknown; trail: Trail } | { leave: object };
  const stack: Step[] = [{ node: value, trail: undefined }];
  const onPath = new Set<object>();
  while (stack.length > 0) {
    const step = stack.pop()!;
    if ('leave' in step) {
      onPath.delete(step.leave);
      continue;
    }
    const { node, trail } = step;
    if (typeof node === 'string') {
      if (isContent(trail)) continue;
      const why = firstUnsafe(node);
      if (why !== undefined) add(() => ({ path: formatPath(pathOf(trail)), line: lineOf(pathOf(trail)), message: `holds ${why}` }));
    } else if (typeof node === 'object' && node !== null && !onPath.has(node)) {
      onPath.add(node);
      stack.push({ leave: node });
      const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((item, i) => [i, item]) : Object.entries(node);
      // Pushed last first, so that the file is walked top to bottom.
      for (const [key, item] of entries.reverse()) {
        const why = typeof key === 'string' ? firstUnsafe(key) : undefined;
        // Said at the object that holds the key, and not below it: a path must not carry the character either.
        if (why !== undefined) add(() => ({ path: formatPath(pathOf(trail)), line: lineOf([...pathOf(trail), key]), message: `the key ${quote(key as string)} holds ${why}` }));
        else stack.push({ node: item, trail: { up: trail, key, depth: (trail?.depth ?? 0) + 1 } });
      }
    }
  }

  // The text around the values; read again only when it holds such a character at all (values included).
  if (IN_TEXT.test(text)) {
    const lines = new LineCounter();
    const visit = (token: unknown): void => {
      if (typeof token !== 'object' || token === null) return;
      const { type, offset, source } = token as { type?: unknown; offset?: unknown; source?: unknown };
      if (typeof type === 'string' && typeof offset === 'number' && typeof source === 'string' && !SCALARS.has(type)) {
        const found = IN_TEXT.exec(source);
        if (found !== null) {
          const { line, col } = lines.linePos(offset + found.index);
          add(() => ({ path: '', line, message: `${OUTSIDE[type] ?? 'the text outside any value'} holds ${describeCharacter(found[0])}, at column ${col}` }));
        }
      }
      for (const child of Object.values(token)) {
        if (Array.isArray(child)) child.forEach(visit);
        else if (typeof child === 'object') visit(child);
      }
    };
    // All of them first: the line counter knows a line once the parser has gone past it.
    for (const token of [...new Parser(lines.addNewLine).parse(text)]) visit(token);
  }
  // Stable: values before comments on one line.
  const reported = found.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)).slice(0, MAX_REPORTED);
  const more = found.length - reported.length + unplaced;
  if (more > 0) reported.push({ path: '', message: `and ${more} more keys, values or comments with such characters`, code: CODE, kind: 'input' });
  return reported;
}

/** CST tokens whose source is a value's: checked as values (escapes resolved, contents exempt). */
const SCALARS = new Set(['scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'block-scalar']);
const OUTSIDE: Readonly<Record<string, string>> = { comment: 'a comment', anchor: 'an anchor', alias: 'an alias', tag: 'a tag', directive: 'a directive' };

/** JSON's quoting, with \u escapes for what JSON leaves raw but a terminal would act on. */
function quote(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
