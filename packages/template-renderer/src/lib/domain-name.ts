/**
 * Libvirt domain names.
 *
 * libvirt refuses a name that is empty or contains '/' (it becomes a file name under /etc/libvirt/qemu). It
 * defines any other name, but virsh does not always read it back as a name: `virsh destroy|domstate|undefine|
 * dumpxml|start NAME` look it up through virshLookupDomainBy (tools/virsh-util.c, libvirt 9.0), which tries, in
 * order (`start` skips the first):
 *  1. an id: virStrToLong_i(name, NULL, 10) (strtol in base 10: leading white space, an optional sign, digits to
 *     the end, within an int) and id >= 0: `+1`, ` 1`, `01` are domain 1; `0x1` and `2147483648` are names;
 *  2. a UUID, when the name is 36 characters long: virUUIDParse skips leading and trailing white space and takes
 *     32 hex digits in pairs, with '-' or ' ' anywhere between pairs: `6ba7b810 9dad 11d1 80b4 00c04fd430c8` and
 *     `  6ba7b8109dad11d180b400c04fd430c8  ` are read as the UUID 6ba7b810-9dad-11d1-80b4-00c04fd430c8;
 *  3. the name, only if neither found a domain.
 * And a name starting with '-' is an option to virsh's own parser: `virsh start --domain=foo` starts foo. That
 * one is not refused here: a template's or spec's own name is warned about (lint-shell-name.ts, issue 12), and
 * the deployer, whose VM names go to virsh start/destroy/undefine, refuses it itself (apps/deployer's
 * config/vm-names.ts).
 * Checked with virsh 9.0 against its test driver (`virsh -c test:///default`): with a domain `+1` defined,
 * `destroy +1` destroyed the running domain id 1 and printed "Domain '+1' destroyed", `undefine +1` undefined
 * domain 1 ("Domain '+1' has been undefined"), `domstate +1` said domain 1's state; with a domain `foreign` of
 * UUID 6ba7b810-9dad-11d1-80b4-00c04fd430c8 and a domain named that UUID, `start NAME` started `foreign`, as it did
 * for the two spellings above; a 32-digit name without dashes was started as itself (the length test of step 2).
 * So a name is refused when either reading could apply, whatever domains exist: an id or a UUID that
 * matches nothing today may match a foreign domain tomorrow. The UUID test is wider than virsh's (32 hex digits
 * among any '-' and white space, at any length), so that another client's lookup by UUID string cannot take it
 * either.
 *
 * We also refuse what cannot be shown or typed back as it is: control characters (C0, DEL and C1: U+009B is the
 * 8-bit CSI, read by terminals as an escape sequence), bidi controls (text shown in another order than it is
 * read), U+FFFD (what a decoder puts for bytes that were not UTF-8), lone surrogates (not UTF-8 at all), and
 * leading/trailing space; and keep names under 64 bytes so the derived file names (overlay, serial log) stay short.
 */
export const MAX_DOMAIN_NAME_BYTES = 64;

/** strtol's white space in the C locale: ' ', \t, \n, \v, \f, \r. */
const C_SPACE = '\\t\\n\\v\\f\\r ';
const VIRSH_ID = new RegExp(`^[${C_SPACE}]*[+-]?[0-9]+$`);
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Unicode's explicit bidi formatting characters (UAX #9, 2.1-2.6): ALM, LRM, RLM, LRE..RLO, LRI..PDI. */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** U+FFFD, or a surrogate without its pair. */
const NOT_TEXT = /\ufffd|\p{Cs}/u;

/** What virsh's lookup would read `name` as before it tries it as a name: a domain id or a UUID. */
function virshReadsAs(name: string): 'a domain id' | 'a UUID' | undefined {
  if (VIRSH_ID.test(name)) return 'a domain id';
  if (/^[0-9a-f]{32}$/i.test(name.replace(new RegExp(`[-${C_SPACE}]`, 'g'), ''))) return 'a UUID';
  return undefined;
}

export function domainNameProblem(name: string): string | undefined {
  const quoted = quote(name);
  if (name.length === 0) return 'a domain name cannot be empty';
  if (name.includes('/')) return `domain name ${quoted} contains "/", which libvirt refuses`;
  const control = CONTROL.exec(name);
  if (control) return `domain name ${quoted} contains a control character (${codePoint(control[0])})`;
  const bidi = BIDI.exec(name);
  if (bidi) return `domain name ${quoted} contains a bidi control (${codePoint(bidi[0])}), which shows it in another order than it is read`;
  const bad = NOT_TEXT.exec(name);
  if (bad) return `domain name ${quoted} contains ${bad[0] === '\ufffd' ? 'U+FFFD, the mark of bytes that were not UTF-8' : `a lone surrogate (${codePoint(bad[0])})`}`;
  const reading = virshReadsAs(name);
  if (reading === 'a domain id') return `domain name ${quoted} is a number, which virsh reads as a domain id (virsh destroy +1 stops domain 1)`;
  if (reading === 'a UUID') return `domain name ${quoted} is 32 hex digits, which virsh reads as a domain's UUID`;
  if (name.trim() !== name) return `domain name ${quoted} starts or ends with white space`;
  if (Buffer.byteLength(name, 'utf8') > MAX_DOMAIN_NAME_BYTES) {
    return `domain name ${quoted} is longer than ${MAX_DOMAIN_NAME_BYTES} bytes`;
  }
  return undefined;
}

/** JSON's quoting, and \u escapes for what JSON leaves raw but a terminal would act on (C1, bidi, line separators). */
function quote(name: string): string {
  return JSON.stringify(name).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
