/**
 * The one way a remote command line is made: an argument array, each argument quoted for a POSIX shell.
 *
 * sshd hands the command string to the user's login shell, so every argument is wrapped in single quotes
 * (inside which nothing is special) and each `'` becomes `'\''`. Arguments made only of characters no shell
 * treats specially are left bare so that logs stay readable. NUL cannot be passed through a shell at all.
 */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new Error(`argument ${JSON.stringify(arg)} contains NUL, which no shell can pass`);
  if (SAFE.test(arg)) return arg;
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

export function shellQuote(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('a command needs at least one argument');
  return argv.map(quoteArg).join(' ');
}
