/**
 * ISO 9660 names as genisoimage writes them at its default level (ECMA-119 level 1, "8.3"):
 * so that a pipeline that swaps genisoimage for this package sees the same names in the primary tree.
 *
 * What genisoimage does, as observed on its output (`isoinfo -l`) and described in its sources:
 * - a name ending in ".tar.gz" becomes ".tgz" and ".ps.gz" becomes ".psz" before anything else;
 * - the name is taken byte by byte (UTF-8 here), so a non-ASCII character gives one "_" per byte;
 * - the extension dot is the last dot, unless it ends the name or is followed by "~": then the dot before it;
 * - a leading dot becomes "_" and counts as a name character; other dots become "_" too;
 * - at most 8 characters before the dot and 3 after; lower case is raised; anything but A-Z, 0-9 and "_" is "_";
 * - files always get a dot (possibly with an empty extension) and the version ";1"; directories get neither
 *   added, but keep a dot and extension of their own ("sub.dir" stays "SUB.DIR").
 * Collisions inside one directory are resolved as genisoimage does (see resolveIsoCollisions).
 */
import { IsoBuilderError } from './errors.js';

const DOT = 0x2e;
const TILDE = 0x7e;

function rewriteCompressedTar(name: string): string {
  if (name.endsWith('.tar.gz')) return `${name.slice(0, -'.tar.gz'.length)}.tgz`;
  if (name.endsWith('.ps.gz')) return `${name.slice(0, -'.ps.gz'.length)}.psz`;
  return name;
}

/** ECMA-119 7.4.1: d-characters; genisoimage maps every other byte to "_". Indexed by byte. */
const D_CHARACTER: string[] = Array.from({ length: 256 }, (_, byte) => {
  if (byte >= 0x61 && byte <= 0x7a) return String.fromCharCode(byte - 0x20);
  if ((byte >= 0x41 && byte <= 0x5a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x5f) return String.fromCharCode(byte);
  return '_';
});

/** The extension dot: the last one, unless it ends the name or precedes "~" (then the one before, if any). */
function extensionDot(bytes: string): number {
  const last = bytes.lastIndexOf('.');
  if (last < 0) return -1;
  if (last + 1 === bytes.length || bytes.charCodeAt(last + 1) === TILDE) {
    const previous = last > 0 ? bytes.lastIndexOf('.', last - 1) : -1;
    if (previous >= 0) return previous;
  }
  return last;
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * The name's UTF-8 bytes as a string of char codes 0-255: the name itself when it is ASCII (nearly always, and
 * then no Buffer is made), else its bytes read as latin1. A UTF-8 sequence never holds a "." or "~" byte.
 */
function utf8Bytes(name: string): string {
  return ASCII.test(name) ? name : Buffer.from(name, 'utf8').toString('latin1');
}

/** ECMA-119 9.1.11 file identifier (or 6.8.2 directory identifier) for a real name, before collisions. */
export function isoName(realName: string, isDirectory: boolean): string {
  const bytes = utf8Bytes(rewriteCompressedTar(realName));
  const dot = extensionDot(bytes);
  let result = '';
  let before = 0;
  let after = 0;
  let seenDot = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes.charCodeAt(i);
    if (byte === DOT) {
      if (before === 0) {
        before++; // a leading dot: DOS cannot read it, genisoimage writes "_"
        result += '_';
      } else if (i !== dot) {
        if (before < 8) {
          before++;
          result += '_';
        }
      } else {
        result += '.';
        seenDot = true;
      }
    } else if (seenDot) {
      if (after < 3) {
        after++;
        result += D_CHARACTER[byte] as string;
      }
    } else if (before < 8) {
      before++;
      result += D_CHARACTER[byte] as string;
    }
  }
  if (!isDirectory) {
    if (!seenDot) result += '.';
    result += ';1'; // ECMA-119 7.5.1: file version number
  }
  return result;
}

const BASE36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * Makes the names of one directory unique, as genisoimage's sort_n_finish does: entries are taken in order;
 * when a name is already used, the entry that holds it is renamed to the first free "<5 chars>NNN<ext>"
 * (NNN counting in base 36) and the newcomer takes the name. The order given here (real names, byte order)
 * makes the result deterministic; genisoimage follows readdir order, so only which of two colliding files
 * gets which name can differ, never the set of names.
 */
export function resolveIsoCollisions<T extends { isoName: string; isDirectory: boolean; path: string }>(entries: T[]): void {
  const used = new Map<string, T>();
  // Names once used stay used (a renamed holder's name passes straight to the newcomer), so the search for a
  // free NNN can resume where the previous one for the same stem stopped: same result, no quadratic scan.
  const resume = new Map<string, number>();
  for (const entry of entries) {
    const holder = used.get(entry.isoName);
    if (holder === undefined) {
      used.set(entry.isoName, entry);
      continue;
    }
    const fresh = freeName(entry.isoName, entry.isDirectory, used, resume, entry.path, holder.path);
    used.delete(holder.isoName);
    holder.isoName = fresh;
    used.set(fresh, holder);
    used.set(entry.isoName, entry);
  }
}

const CANDIDATES = 36 * 36 * 36;

function freeName(name: string, isDirectory: boolean, used: Map<string, unknown>, resume: Map<string, number>, path: string, otherPath: string): string {
  let root = name;
  let ext = '';
  let dot = root.indexOf('.');
  if (dot === 0 && dot !== root.lastIndexOf('.')) dot = root.lastIndexOf('.');
  if (dot >= 0) {
    ext = root.slice(dot);
    root = root.slice(0, dot);
  } else {
    const semicolon = root.indexOf(';');
    if (semicolon >= 0) root = root.slice(0, semicolon);
  }
  const semicolon = ext.indexOf(';');
  if (semicolon >= 0) ext = ext.slice(0, semicolon);
  if (root.length > 5) root = root.slice(0, 5);
  const version = isDirectory ? '' : ';1';
  const key = `${root}/${ext}/${version}`;
  for (let n = resume.get(key) ?? 0; n < CANDIDATES; n++) {
    const digits = (BASE36[Math.floor(n / 1296)] as string) + (BASE36[Math.floor(n / 36) % 36] as string) + (BASE36[n % 36] as string);
    const candidate = `${root}${digits}${ext}${version}`;
    if (!used.has(candidate)) {
      resume.set(key, n + 1);
      return candidate;
    }
  }
  throw new IsoBuilderError('ISO_NAME_COLLISION', `no free ISO 9660 name for "${path}" (it collides with "${otherPath}" and ${CANDIDATES} others)`, { where: path });
}

/** Name and extension of an identifier, without the version (ECMA-119 9.3 compares them separately). */
function splitForSort(name: string): [string, string, number] {
  const semicolon = name.indexOf(';');
  const version = semicolon >= 0 ? Number(name.slice(semicolon + 1)) : 0;
  const bare = semicolon >= 0 ? name.slice(0, semicolon) : name;
  const dot = bare.indexOf('.');
  return dot >= 0 ? [bare.slice(0, dot), bare.slice(dot + 1), version] : [bare, '', version];
}

function comparePadded(a: string, b: string): number {
  // Padding the shorter with 0x20 and comparing bytes is plain ordering here: every d-character sorts after space.
  return a < b ? -1 : a > b ? 1 : 0;
}

/** ECMA-119 9.3: records are ordered by name, then extension (both space-padded), then version descending. */
export function compareIsoNames(a: string, b: string): number {
  const [an, ae, av] = splitForSort(a);
  const [bn, be, bv] = splitForSort(b);
  return comparePadded(an, bn) || comparePadded(ae, be) || bv - av;
}

/**
 * A string whose plain order is the order of compareIsoNames, to sort many names without splitting them
 * in every comparison: "\u0001" sorts before every d-character, as the padding space does.
 */
export function isoSortKey(name: string): string {
  const [n, e, v] = splitForSort(name);
  return `${n}\u0001${e}\u0001${String(99999 - v).padStart(5, '0')}`;
}
