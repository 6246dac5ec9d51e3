/**
 * What the controller's scripts (sh/*.sh) print, read in Node through zod: an answer that is not of its script's
 * shape is refused as a whole, never half-read. Each schema names the script whose protocol it reads.
 */
import { z } from 'zod';

/**
 * common/file-identity.sh: `DEVICE:INODE:BIRTH` as stat prints it (GNU stat: the birth time to the nanosecond, or 0
 * where the filesystem keeps none; a stat without %W prints something else there, which is kept as printed).
 */
export const FileIdentity = z.string().regex(/^\d+:\d+:\S+$/, 'not DEVICE:INODE:BIRTH');

/** file-sha256.sh: a sha256 in hex. */
export const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'not a sha256');

/**
 * upload-receive.sh's (and fetch-receive.sh's) first line: the bytes already kept at the temporary name, and
 * ` gzip` when the controller can inflate gzipped frames (controller/frame-compression.ts).
 */
export const ResumeFrom = z
  .string()
  .regex(/^resume-from \d+( gzip)?$/)
  .transform((line) => ({ from: Number(line.split(' ')[1]), gzip: line.endsWith(' gzip') }));

/** upload-tools.sh: the sha256 tool there, the fetch tool, then what else an upload lacks there (nothing when all is there). */
export const UploadTools = z
  .string()
  .regex(/^sha256 (openssl|sha256sum|none)\nfetch (curl|wget|none)(\nmissing .+)*$/, 'not `sha256 TOOL`, `fetch TOOL`, then `missing WHAT` lines')
  .transform((text) => {
    const [first, second, ...rest] = text.split('\n');
    return {
      sha256: first!.slice('sha256 '.length) as 'openssl' | 'sha256sum' | 'none',
      fetch: second!.slice('fetch '.length) as 'curl' | 'wget' | 'none',
      missing: rest.map((line) => line.slice('missing '.length)),
    };
  });

/** What `schema` makes of `text`, or a message that says what was printed instead (for the caller's error). */
export function readAnswer<T>(schema: z.ZodType<T>, text: string): { ok: true; value: T } | { ok: false; why: string } {
  const parsed = schema.safeParse(text);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, why: `${JSON.stringify(text.slice(0, 200))}: ${parsed.error.issues[0]?.message ?? 'not the expected answer'}` };
}

/** remove-files.sh: one line a file: `removed`, `gone` (not there: removed as well), or `kept WHY`. */
export const RemoveAnswer = z.union([
  z.enum(['removed', 'gone']).transform(() => ({ removed: true as const })),
  z.string().regex(/^kept ./).transform((line) => ({ removed: false as const, why: line.slice('kept '.length) })),
]);

/**
 * backing-chains.sh: what `qemu-img info --backing-chain --output=json` prints, one object per image of the chain
 * (qemu's ImageInfo: `filename`, and `full-backing-filename` where the image has a backing file); the other fields
 * are not read.
 */
export const BackingChain = z.array(z.looseObject({ filename: z.string().optional(), 'full-backing-filename': z.string().optional() }));

/** dir-state.sh and file-state.sh: `yes BYTES` or `no BYTES` (writable or readable, and free bytes or the size). */
export const AccessAndBytes = z
  .string()
  .regex(/^(yes|no) \d+$/, 'not `yes|no BYTES`')
  .transform((line) => ({ yes: line.startsWith('yes '), bytes: Number(line.slice(line.indexOf(' ') + 1)) }));

/** `ip -j -d link show dev NAME` (iproute2's JSON): a list of links, of which their flags and kind are read. */
export const IpLinks = z.array(z.looseObject({ flags: z.array(z.string()).optional(), linkinfo: z.looseObject({ info_kind: z.string().optional() }).optional() }));

/** deployment-lock.sh, a line at a time: `no-folder`, `busy HOLDER` (another run holds it) or `locked PATH`. */
export const LockLine = z.union([
  z.literal('no-folder').transform(() => ({ said: 'no-folder' as const })),
  z.string().regex(/^busy /).transform((line) => ({ said: 'busy' as const, holder: line.slice('busy '.length) })),
  z.string().regex(/^locked ./).transform((line) => ({ said: 'locked' as const, path: line.slice('locked '.length) })),
]);
