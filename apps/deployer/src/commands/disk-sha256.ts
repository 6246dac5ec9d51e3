/**
 * `vmctx disk sha256`: sha256sum's output and its `--check`, as GNU coreutils 9.1 writes and reads them, so that a
 * list written by one is checked by the other (test/disk-builder.tools.spec.ts compares stdout byte for byte).
 *
 * GNU coreutils src/digest.c is the reference named at each step: `output_file` and `print_filename` for the lines
 * written, `split_3`, `bsd_split_3` and `filename_unescape` for the lines read, `digest_check` for the verdicts,
 * the summary warnings and the exit status. Unlike sha256sum, a file that cannot be read is reported with its
 * code (`vmctx: ... [DISK_NOT_FOUND]`) and the command goes on; it exits 1 at the end, as sha256sum does.
 */
import { open } from 'node:fs/promises';
import { formatError } from '../cli/action.js';
import type { CommandIo } from '../cli/command-io.js';

/** What sha256sum calls the algorithm in its tagged lines and warnings. */
const ALGORITHM = 'SHA256';
const HEX_LENGTH = 64;
const STANDARD_INPUT = 'standard input';

export interface HashSources {
  /** The sha256 of a file, or of standard input for `-`. */
  hashFile: (path: string) => Promise<string>;
  hashStdin: () => Promise<string>;
}

export interface CheckFlags {
  quiet?: boolean;
  status?: boolean;
  strict?: boolean;
  warn?: boolean;
  ignoreMissing?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Names: print_filename and filename_unescape

/**
 * digest.c `output_file`: a name with a backslash, a newline or a carriage return is written escaped (`\\`, `\n`,
 * `\r`) and its line starts with a backslash, so that every line of the list is one file.
 */
export function checksumLine(hex: string, name: string): string {
  const escape = /[\\\n\r]/.test(name);
  return `${escape ? '\\' : ''}${hex}  ${escape ? escapeName(name) : name}\n`;
}

/**
 * digest.c `digest_check` (coreutils 9.1): a verdict line escapes the name only when it holds a newline (the one
 * character that would break the line); a backslash or carriage return alone is printed as it is.
 */
export function verdictName(name: string): string {
  return name.includes('\n') ? `\\${escapeName(name)}` : name;
}

function escapeName(name: string): string {
  return name.replace(/[\\\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\r'));
}

/** digest.c `filename_unescape`: `\\`, `\n` and `\r` only; any other escape, a trailing backslash or a NUL is no name. */
function unescapeName(text: string): string | undefined {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\0') return undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else return undefined;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a list: split_3

export interface ChecksumEntry {
  hex: string;
  name: string;
}

/**
 * The untagged shape a list settled on (digest.c's `bsd_reversed`): -1 before the first untagged line, 0 for
 * "HEX  NAME" / "HEX *NAME", 1 for BSD's reversed "HEX NAME". Shared by every list of one run, as in sha256sum.
 */
export interface ListState {
  bsdReversed: -1 | 0 | 1;
}

const isHex = (s: string) => s.length === HEX_LENGTH && /^[0-9a-fA-F]+$/.test(s);
/** C's isspace for the characters a line can hold here (newline is already gone). */
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r';

/** digest.c `split_3`: one line of a list (without its newline), or undefined when it is improperly formatted. */
export function parseChecksumLine(line: string, state: ListState): ChecksumEntry | undefined {
  let i = 0;
  while (isSpace(line[i])) i++;
  let escaped = false;
  if (line[i] === '\\') {
    i++;
    escaped = true;
  }
  // Tagged (`--tag`, BSD) lines: "SHA256 (NAME) = HEX", the name up to the last ')' (bsd_split_3).
  if (line.startsWith(ALGORITHM, i)) {
    i += ALGORITHM.length;
    if (line[i] === ' ') i++;
    if (line[i] !== '(') return undefined;
    const rest = line.slice(i + 1);
    const close = rest.lastIndexOf(')');
    if (close < 0) return undefined;
    const rawName = rest.slice(0, close);
    const name = escaped ? unescapeName(rawName) : rawName;
    const m = /^[ \t]*=[ \t]*(.*)$/.exec(rest.slice(close + 1));
    if (name === undefined || m === null || !isHex(m[1]!)) return undefined;
    return { hex: m[1]!.toLowerCase(), name };
  }
  // "Quick check for min length": the digest, two characters and a name of at least one.
  if (line.length - i < HEX_LENGTH + 3) return undefined;
  const hex = line.slice(i, i + HEX_LENGTH);
  i += HEX_LENGTH;
  if (!isSpace(line[i])) return undefined;
  i++;
  if (!isHex(hex)) return undefined;
  if (line.length - i === 1 || (line[i] !== ' ' && line[i] !== '*')) {
    // "Don't allow mixing bsd and standard formats".
    if (state.bsdReversed === 0) return undefined;
    state.bsdReversed = 1;
  } else if (state.bsdReversed !== 1) {
    state.bsdReversed = 0;
    i++;
  }
  // "All characters between the type indicator and end of line are significant".
  const name = escaped ? unescapeName(line.slice(i)) : line.slice(i);
  if (name === undefined || name === '') return undefined;
  return { hex: hex.toLowerCase(), name };
}

// ---------------------------------------------------------------------------------------------------------------
// The two modes

/** Hashes each file (`-` is standard input) and prints sha256sum's lines; returns the exit status (1 if one failed). */
export async function hashFiles(io: Pick<CommandIo, 'stdout' | 'stderr'>, files: readonly string[], sources: HashSources): Promise<number> {
  let status = 0;
  for (const file of files) {
    try {
      const hex = file === '-' ? await sources.hashStdin() : await sources.hashFile(file);
      io.stdout(checksumLine(hex, file));
    } catch (error) {
      io.stderr(formatError(error));
      status = 1;
    }
  }
  return status;
}

/**
 * `--check`: reads each list (`-` is standard input) and verifies its files, with digest_check's lines, warnings
 * and status: 0 when every list had a properly formatted line and every listed file was read and matched.
 */
export async function checkLists(
  io: Pick<CommandIo, 'stdout' | 'stderr'>,
  lists: readonly string[],
  flags: CheckFlags,
  sources: HashSources & { readStdin: () => Promise<Buffer> },
): Promise<number> {
  const state: ListState = { bsdReversed: -1 };
  let ok = true;
  for (const list of lists) {
    if (!(await checkList(io, list, flags, sources, state))) ok = false;
  }
  return ok ? 0 : 1;
}

async function checkList(
  io: Pick<CommandIo, 'stdout' | 'stderr'>,
  list: string,
  flags: CheckFlags,
  sources: HashSources & { readStdin: () => Promise<Buffer> },
  state: ListState,
): Promise<boolean> {
  const listName = list === '-' ? STANDARD_INPUT : list;
  let text: string;
  try {
    text = (list === '-' ? await sources.readStdin() : await readList(list)).toString('latin1');
  } catch (error) {
    io.stderr(`vmctx: ${list}: ${describe(error)} [CLI_READ_FAILED]\n`);
    return false;
  }
  const warn = (message: string) => io.stderr(`vmctx: ${message}\n`);
  let misformatted = 0;
  let unreadable = 0;
  let mismatched = 0;
  let properlyFormatted = false;
  let matched = false;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [index, raw] of lines.entries()) {
    // "Ignore comment lines", a trailing carriage return, and empty lines.
    if (raw.startsWith('#')) continue;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    // Names are bytes: the list was read as latin1, one character a byte, and goes back to a path as UTF-8 text.
    const parsed = parseChecksumLine(line, state);
    if (parsed === undefined) {
      misformatted++;
      if (flags.warn) warn(`${listName}: ${index + 1}: improperly formatted ${ALGORITHM} checksum line`);
      continue;
    }
    properlyFormatted = true;
    const name = Buffer.from(parsed.name, 'latin1').toString('utf8');
    let hex: string;
    try {
      hex = name === '-' ? await sources.hashStdin() : await sources.hashFile(name);
    } catch (error) {
      if (flags.ignoreMissing && isMissing(error)) continue;
      io.stderr(formatError(error));
      unreadable++;
      if (!flags.status) io.stdout(`${verdictName(name)}: FAILED open or read\n`);
      continue;
    }
    const good = hex === parsed.hex;
    if (good) matched = true;
    else mismatched++;
    if (!flags.status && !(good && flags.quiet)) io.stdout(`${verdictName(name)}: ${good ? 'OK' : 'FAILED'}\n`);
  }

  if (!properlyFormatted) {
    warn(`${listName}: no properly formatted checksum lines found`);
  } else if (!flags.status) {
    const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
    if (misformatted) warn(`WARNING: ${plural(misformatted, 'line is', 'lines are')} improperly formatted`);
    if (unreadable) warn(`WARNING: ${plural(unreadable, 'listed file', 'listed files')} could not be read`);
    if (mismatched) warn(`WARNING: ${plural(mismatched, 'computed checksum', 'computed checksums')} did NOT match`);
    if (flags.ignoreMissing && !matched) warn(`${listName}: no file was verified`);
  }
  // A list passes when at least one file matched and nothing failed (with --strict: no line was misformatted).
  return properlyFormatted && matched && mismatched === 0 && unreadable === 0 && !(flags.strict && misformatted > 0);
}

async function readList(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  const cause = (error as { cause?: { code?: string } }).cause;
  return code === 'DISK_NOT_FOUND' || code === 'ENOENT' || cause?.code === 'ENOENT';
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'No such file or directory' : code === 'EISDIR' ? 'Is a directory' : (error as Error).message;
}
