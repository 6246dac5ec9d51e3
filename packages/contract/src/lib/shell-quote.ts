/**
 * Shell quoting, both rules vmctx has, in one module. They differ because the lines go to different readers:
 * - `shQuote`: a value pasted into shell code that vmctx generates for a POSIX `sh` (the guest's key=value files,
 *   the installer's steps, the script's option header). Always single-quoted, so every value of a file has one
 *   shape (`KEY='value'`, as Snooze's files have) and the bytes of the guest's files stay what they were; a line
 *   break is refused, since no generator needs one and one is a sign of bad input.
 * - `shellQuote`, `quoteArg`, `remoteCommandLine`: a command line the deployer sends to a controller, which sshd
 *   runs with the user's login shell, POSIX or not. Below, the rules that every such shell reads alike.
 *
 * The one way a remote command line is made from an argument array.
 *
 * sshd runs an exec request's command as `$SHELL -c LINE` with the user's login shell, which need not be a POSIX
 * shell. What each reads differently (checked with dash 0.5.12, bash 5.2, zsh 5.9, busybox 1.35 ash, fish 3.6,
 * tcsh 6.24 and Debian's csh 20110502):
 * - fish reads `\\` and `\'` inside single quotes as escapes (`'name\'` does not end there);
 * - csh and tcsh expand `!` (history) even inside single quotes, and refuse a newline there;
 * - a word that starts with `=` is a path in zsh (`=ls` is /usr/bin/ls) and the directory stack in tcsh (`=1`);
 *   `%self` is fish's pid;
 * - csh refuses a word over 8 KiB ("Word too long").
 *
 * So each word is written in the one form that all of them read as the same bytes (`quoteArg`):
 * - bare, when made only of `[A-Za-z0-9_@%+=:,./-]` and not starting with `=` or `%`;
 * - otherwise every run of characters other than `'`, `\`, `!` in single quotes, and each of those three behind
 *   a backslash outside them: `it's` is `'it'\''s'` (as POSIX quoting writes it too), `a\b` is `'a'\\'b'`.
 * A newline is the one character with no such form (csh has none, and backslash-newline means a different thing
 * to each shell), so a command with a newline, or with an argument longer than csh takes, is run by `sh` from a
 * line that holds it in pieces (`remoteCommandLine`). NUL cannot be passed through a shell at all.
 *
 * `shellQuote` is the same words joined: the readable form that messages show, and the quoting for a line that a
 * POSIX `sh` runs (a batch script), where a newline inside single quotes is fine.
 */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** A word that begins with these is expanded by some shell (zsh and tcsh `=`, fish `%self`). */
const EXPANDED_FIRST = /^[=%]/;
/** The characters that are special to some shell inside single quotes, written outside them. */
const ESCAPED = /['\\!]/;
const PIECE = /[^'\\!]+|['\\!]/g;

function quoteWord(arg: string, isCommand: boolean): string {
  if (arg.includes('\0')) throw new Error(`argument ${JSON.stringify(arg)} contains NUL, which no shell can pass`);
  // A command word with `=` would be an assignment to sh and fish (`A=b cmd`).
  if (SAFE.test(arg) && !EXPANDED_FIRST.test(arg) && !(isCommand && arg.includes('='))) return arg;
  if (arg === '') return "''";
  return arg.replace(PIECE, (piece) => (ESCAPED.test(piece) ? `\\${piece}` : `'${piece}'`));
}

/** One argument, as a word that every shell reads back as `arg` (a newline in it: POSIX shells only). */
export function quoteArg(arg: string): string {
  return quoteWord(arg, false);
}

/** The command line of `argv`: for POSIX sh always, for every login shell when no argument holds a newline. */
export function shellQuote(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('a command needs at least one argument');
  return argv.map((arg, i) => quoteWord(arg, i === 0)).join(' ');
}

/**
 * Code points per piece: csh refuses a word over 8 KiB, and a piece of 1024 code points is at most 4096 bytes of
 * UTF-8, plus its quotes and escapes (at most one more byte per code point when every other one is `'`).
 */
export const MAX_PIECE = 1024;

/**
 * The part of the line run by `sh -c`: it takes the joins (`$1`: per argument `-`, or one letter per join, `n`
 * for a newline and `j` for none, the arguments separated by commas), then the pieces, and joins the pieces into
 * the arguments: each argument's pieces are shifted off the front and the joined argument appended at the end,
 * so that once every piece has gone, "$@" is the command. Builtins only: no process but the command itself, which
 * `exec` starts in place of this sh. The newline is the last character of IFS, which every POSIX shell sets
 * to space, tab, newline when it starts (zsh adds NUL) whatever the environment says. Inside the single quotes of
 * the line it holds none of `'`, `\`, `!` and no newline, so every login shell hands it to sh unchanged.
 */
export const PIECES_TO_ARGV =
  'n=${IFS#??}; n=${n%"${n#?}"}; IFS=,; j=$1; shift; ' +
  'for k in $j; do a=$1; shift; k=${k#-}; ' +
  'while [ -n "$k" ]; do case $k in n*) a=$a$n$1 ;; *) a=$a$1 ;; esac; shift; k=${k#?}; done; ' +
  'set -- "$@" "$a"; done; exec "$@"';

/** `text` in pieces of at most MAX_PIECE code points (a surrogate pair is never cut); at least one piece. */
function pieces(text: string): string[] {
  const points = Array.from(text);
  if (points.length <= MAX_PIECE) return [text];
  const out: string[] = [];
  for (let i = 0; i < points.length; i += MAX_PIECE) out.push(points.slice(i, i + MAX_PIECE).join(''));
  return out;
}

function fitsOneWord(arg: string): boolean {
  // Cheap first: a string of at most MAX_PIECE UTF-16 units has at most MAX_PIECE code points.
  return !arg.includes('\n') && (arg.length <= MAX_PIECE || Array.from(arg).length <= MAX_PIECE);
}

/**
 * The line sshd is sent for `argv`: read as exactly `argv` by sh, bash, dash, zsh, busybox ash, fish, csh and tcsh
 * as login shells (shell-quote.spec.ts runs it through each).
 * - Every argument without a newline and within MAX_PIECE: the words of `shellQuote`, run by the login shell itself
 *   (`virsh list --all` stays `virsh list --all`).
 * - Otherwise `sh -c 'PIECES_TO_ARGV' vmctx JOINS PIECE...`: each argument cut at its newlines and every MAX_PIECE
 *   code points, each piece a word as above, put back together by sh; `exec` makes sh the command: one exec more
 *   than the plain line and no fork, 1.7-2.9 ms a command on a quiet machine under dash, bash or fish as login
 *   shell (an `eval "$(printf %s BASE64 | base64 -d)"` costs 8-19 ms: two forks and an exec more).
 */
export function remoteCommandLine(argv: readonly string[]): string {
  const line = shellQuote(argv);
  if (argv.every(fitsOneWord)) return line;
  const joins: string[] = [];
  const words: string[] = [];
  for (const arg of argv) {
    let join = '';
    arg.split('\n').forEach((text, i) => {
      if (i > 0) join += 'n';
      pieces(text).forEach((piece, j) => {
        if (j > 0) join += 'j';
        words.push(quoteArg(piece));
      });
    });
    joins.push(join || '-');
  }
  return ['sh', '-c', `'${PIECES_TO_ARGV}'`, 'vmctx', joins.join(','), ...words].join(' ');
}

/**
 * Single-quoting for values pasted into generated POSIX shell code (see the module comment): inside '...' nothing
 * is special to any POSIX shell, and each `'` becomes `'\''`. Values must not hold NUL or newlines (a newline
 * would be kept literally, but our generators never need one, so one is a sign of bad input).
 */
export function shQuote(value: string): string {
  if (/[\0\n\r]/.test(value)) throw new Error(`value ${JSON.stringify(value)} contains NUL or a line break`);
  return `'${value.replaceAll("'", "'\\''")}'`;
}
