/**
 * Which domain of a controller is a deployment's own: the one test that stands between vmctx and a domain it did not
 * create, used by preflight, plan, deploy and destroy alike.
 */
import type { DomainInfo } from './libvirt.js';
import type { DeploymentIdentity } from './owner-mark.js';

/**
 * The domain that is VM `vm` of this deployment: found by the UUID the deployment gave it (never by name), readable,
 * of that name, and carrying the deployment's mark for that VM with the deployment's id. A mark without an id
 * (written before deployments had ids) is taken as this deployment's: its record, which would say otherwise, is
 * checked for its id when read (deploy/state.ts).
 */
export function ownedDomain(domains: readonly DomainInfo[], deployment: DeploymentIdentity, vm: string, uuid: string): DomainInfo | undefined {
  const d = domains.find((x) => x.uuid === uuid.toLowerCase());
  if (!d || d.unreadable || d.name !== vm || d.owner?.deployment !== deployment.name || d.owner.vm !== vm) return undefined;
  return d.owner.id === undefined || d.owner.id === deployment.id ? d : undefined;
}
