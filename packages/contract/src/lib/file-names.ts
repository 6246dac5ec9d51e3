/**
 * File names as bytes. Linux names are bytes, Node reads them as UTF-8 and puts U+FFFD for each byte that is not:
 * a name such as `a\xff.txt` (Latin-1, an old archive) comes back as "a\uFFFD.txt", which names no file (ENOENT
 * on the next stat) and shows as "a?.txt" in a message. Readers of folders check their names with these, and a
 * name that is not UTF-8 is refused showing its bytes escaped, as `ls --quoting-style=escape` and sha256sum do.
 */
import { isUtf8 } from 'node:buffer';
import { readdirSync } from 'node:fs';

/** The length of the UTF-8 sequence a lead byte starts (RFC 3629), or 0 for a byte that cannot start one. */
function sequenceLength(byte: number): number {
  if (byte < 0x80) return 1;
  if (byte >= 0xc2 && byte <= 0xdf) return 2;
  if (byte >= 0xe0 && byte <= 0xef) return 3;
  if (byte >= 0xf0 && byte <= 0xf4) return 4;
  return 0;
}

/** A name's bytes as text: valid UTF-8 as it is, every other byte as `\xNN` (and a backslash as `\\`, so that the text reads back). */
export function escapeFileName(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; ) {
    const n = sequenceLength(bytes[i]!);
    if (n > 0 && i + n <= bytes.length && isUtf8(bytes.subarray(i, i + n))) {
      const part = Buffer.from(bytes.subarray(i, i + n)).toString('utf8');
      text += part === '\\' ? '\\\\' : part;
      i += n;
    } else {
      text += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
      i += 1;
    }
  }
  return text;
}

/**
 * The names in `dir` that are not UTF-8, escaped (escapeFileName). `names` is the folder's listing as strings: only
 * when one of them holds U+FFFD (what Node made of a byte that is not UTF-8) is the folder listed again as bytes.
 */
export function nonUtf8Names(dir: string, names: readonly string[]): string[] {
  if (!names.some((name) => name.includes('\uFFFD'))) return [];
  return readdirSync(dir, { encoding: 'buffer' })
    .filter((name) => !isUtf8(name))
    .map(escapeFileName)
    .sort();
}
