/**
 * The `shell-risky-name` lint: a domain name libvirt takes but a command line misreads. vmctx quotes every name it
 * puts in a shell line (apps/deployer's shell-quote.ts), but people and their scripts run `virsh destroy NAME`,
 * `virsh undefine NAME` by hand: a name that starts with "-" (`--name -rf`) is taken for an option there, and
 * one with a shell character (`web;reboot`, `a b`, `$(id)`) runs or splits when it is not quoted.
 */

/** White space and the characters a POSIX shell gives a meaning to (XCU 2.2, 2.6, 2.13). */
const SHELL_SPECIAL = /[\s'"`$;&|<>(){}[\]*?!#~\\]/u;

/** What a command line would make of the name, or undefined when it can be written there as it is. */
export function shellRiskyNameProblem(name: string): string | undefined {
  if (name.startsWith('-')) return `domain name ${JSON.stringify(name)} starts with "-": virsh and the tools a script passes it to take it for an option`;
  const special = [...name].find((c) => SHELL_SPECIAL.test(c));
  if (special !== undefined) return `domain name ${JSON.stringify(name)} contains ${JSON.stringify(special)}: a shell line that names the domain unquoted runs or splits it`;
  return undefined;
}
