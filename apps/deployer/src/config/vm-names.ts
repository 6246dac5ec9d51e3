/**
 * A VM's name as the deployer gives it to virsh (`virsh start|domstate|destroy|undefine NAME`): a domain name by
 * template-renderer's rule (domainNameProblem: not empty, no '/', not a number virsh reads as a domain id, not 32
 * hex digits it reads as a UUID, no control or bidi character...), and not an option either. A name starting with
 * '-' is read by virsh's own parser as one (`virsh start --domain=foo` starts foo; virsh 9.0): template-renderer
 * only warns about it in a template of one's own (the shell-risky-name lint, issue 12), the deployer refuses it
 * for the domains it creates and later stops and undefines (issue 19). A name with white space or a shell
 * character is refused as well (issue 24: `web server 2` passed with a lint warning and made `web server 2.qcow2`
 * on the controller, a trap for every script that comes after): the same characters as that lint's.
 */
import { domainNameProblem, shellRiskyNameProblem } from '@vmctx/template-renderer';

export function vmNameProblem(name: string): string | undefined {
  const problem = domainNameProblem(name);
  if (problem !== undefined) return problem;
  if (name.startsWith('-')) return `domain name ${JSON.stringify(name)} starts with "-", which virsh reads as an option (virsh start --domain=foo starts foo)`;
  const risky = shellRiskyNameProblem(name);
  if (risky !== undefined) return `${risky}; it also names the VM's files on the controller: give it a name of letters, digits, '.', '_', '-'`;
  return undefined;
}
