/**
 * Joliet names (Joliet specification, "CD-ROM Recording Spec", Microsoft 1995): UCS-2 big-endian, at most 64
 * characters, without * / : ; ? \ . genisoimage cuts longer names at 64 and fails when two names of a directory
 * become equal; here longer names keep their extension, names that become equal are made unique by a "~N"
 * suffix before the extension, and the Rock Ridge tree keeps the real names anyway.
 */
import { encodeUcs2 } from './encoding.js';
import { IsoBuilderError } from './errors.js';

export const JOLIET_MAX_NAME = 64;

const FORBIDDEN = /[*/:;?\\\u0000-\u001f]/g;

/** Cuts to at most `max` UTF-16 units without splitting a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end);
}

/** Extension kept when a name is cut or made unique: a last dot after the first character, 16 characters at most. */
function splitExtension(clean: string): [string, string] {
  const dot = clean.lastIndexOf('.');
  return dot > 0 && clean.length - dot <= 16 ? [clean.slice(0, dot), clean.slice(dot)] : [clean, ''];
}

/**
 * The Joliet name of a real name, before collisions. A name longer than 64 characters keeps its extension
 * (genisoimage cuts it off), so that Windows still knows the file's type.
 */
export function jolietName(realName: string): string {
  const clean = realName.replace(FORBIDDEN, '_');
  if (clean.length <= JOLIET_MAX_NAME) return clean;
  const [stem, ext] = splitExtension(clean);
  return cut(stem, JOLIET_MAX_NAME - ext.length) + ext;
}

/** Makes the Joliet names of one directory unique (in the given, deterministic order) and returns the names. */
export function resolveJolietCollisions<T extends { jolietName: string; name: string; path: string }>(entries: T[]): void {
  const used = new Map<string, string>(); // Joliet name -> the path that holds it
  for (const entry of entries) {
    if (!used.has(entry.jolietName)) {
      used.set(entry.jolietName, entry.path);
      continue;
    }
    const [stem, ext] = splitExtension(entry.name.replace(FORBIDDEN, '_'));
    let found: string | undefined;
    for (let n = 1; n < 100_000 && found === undefined; n++) {
      const suffix = `~${n}`;
      const candidate = cut(stem, JOLIET_MAX_NAME - suffix.length - ext.length) + suffix + ext;
      if (!used.has(candidate)) found = candidate;
    }
    if (found === undefined) {
      throw new IsoBuilderError(
        'ISO_JOLIET_NAME',
        `no free Joliet name for "${entry.path}": it equals "${used.get(entry.jolietName)}" in its first ${JOLIET_MAX_NAME} characters`,
        { where: entry.path },
      );
    }
    entry.jolietName = found;
    used.set(found, entry.path);
  }
}

/**
 * Order of Joliet records, as genisoimage sorts them: UTF-16 units compared in turn, a "." before any other
 * character (so "a.b" comes before "a_b" and "ab"), a shorter name before a longer one that starts with it.
 */
export function compareJolietNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2e) return -1;
    if (y === 0x2e) return 1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * A string whose plain order is the order of compareJolietNames: "." becomes U+0000, which sorts before every
 * character a Joliet name can hold (control characters are replaced by "_"), and no two names share a key.
 */
export function jolietSortKey(name: string): string {
  return name.replace(/\./g, '\u0000');
}

export function jolietIdentifier(name: string): Buffer {
  return encodeUcs2(name);
}
