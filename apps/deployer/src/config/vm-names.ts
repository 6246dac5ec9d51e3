/**
 * A VM's name as the deployer gives it to virsh (`virsh start|domstate|destroy|undefine NAME`): a domain name by
 * template-renderer's rule (domainNameProblem: not empty, no '/', not a number virsh reads as a domain id, not 32
 * hex digits it reads as a UUID, no control or bidi character...), and not an option either. A name starting with
 * '-' is read by virsh's own parser as one (`virsh start --domain=foo` starts foo; virsh 9.0): template-renderer
 * only warns about it in a template of one's own (the shell-risky-name lint, issue 12), the deployer refuses it
 * for the domains it creates and later stops and undefines (issue 19).
 */
import { domainNameProblem } from '@vmctx/template-renderer';

export function vmNameProblem(name: string): string | undefined {
  const problem = domainNameProblem(name);
  if (problem !== undefined) return problem;
  if (name.startsWith('-')) return `domain name ${JSON.stringify(name)} starts with "-", which virsh reads as an option (virsh start --domain=foo starts foo)`;
  return undefined;
}
