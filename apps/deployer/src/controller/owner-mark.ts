/**
 * The mark that says which deployment owns a domain: an element of vmctx's own namespace in the domain's
 * `<metadata>`, which libvirt keeps as given (libvirt's formatdomain "General metadata": "custom metadata ...
 * in their own namespace"). A domain without it, or with another deployment's, is foreign: vmctx never
 * redefines, stops or undefines it.
 */
import { elements, firstElement, getAttr, insertElement, newElement, type XmlElement } from '@vmctx/template-renderer';

export const OWNER_NAMESPACE = 'https://vmctx.dev/xmlns/deployment/1';
const ELEMENT = 'vmctx:owner';

/** Who a deployment is on its controllers: its name, and the id that tells two files of one name apart. */
export interface DeploymentIdentity {
  name: string;
  /** Absent for a deployment whose file has no id yet (it never deployed). */
  id?: string;
}

export interface OwnerMark {
  deployment: string;
  /**
   * The deployment's id (deploy/deployment-id.ts): two deployment files of one name have different ids, so neither
   * takes the other's domains for its own. Absent in marks written before deployments had ids.
   */
  id?: string;
  vm: string;
  /** sha256 of each artifact the domain was defined with (iso, overlay, base), for plan and status. */
  artifacts: Record<string, string>;
}

/** Puts the mark into a domain tree, replacing an older vmctx mark; other metadata is kept. */
export function addOwnerMark(domain: XmlElement, mark: OwnerMark): void {
  let metadata = firstElement(domain, 'metadata');
  if (!metadata) {
    metadata = newElement('metadata');
    // formatdomain: <metadata> sits among the general elements, after name/uuid/title/description.
    const anchor = ['description', 'title', 'uuid', 'name'].map((n) => firstElement(domain, n)).find((e) => e !== undefined);
    insertElement(domain, metadata, anchor);
  }
  metadata.children = metadata.children.filter((c) => !(c.kind === 'element' && c.name.endsWith(':owner') && namespaceOf(c) === OWNER_NAMESPACE));
  const artifacts = Object.entries(mark.artifacts)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([kind, sha256]) => newElement('vmctx:artifact', [['kind', kind], ['sha256', sha256]]));
  insertElement(
    metadata,
    newElement(ELEMENT, [['xmlns:vmctx', OWNER_NAMESPACE], ['deployment', mark.deployment], ...(mark.id ? [['id', mark.id] as [string, string]] : []), ['vm', mark.vm]], artifacts),
  );
}

/** The mark of a domain as libvirt returns it (libvirt may rename the prefix; the namespace decides). */
export function readOwnerMark(domain: XmlElement): OwnerMark | undefined {
  const metadata = firstElement(domain, 'metadata');
  if (!metadata) return undefined;
  const owner = elements(metadata).find((e) => e.name.split(':').pop() === 'owner' && namespaceOf(e) === OWNER_NAMESPACE);
  if (!owner) return undefined;
  const deployment = getAttr(owner, 'deployment');
  const vm = getAttr(owner, 'vm');
  if (!deployment || !vm) return undefined;
  const artifacts: Record<string, string> = {};
  for (const a of elements(owner)) {
    const kind = getAttr(a, 'kind');
    const sha256 = getAttr(a, 'sha256');
    if (kind && sha256) artifacts[kind] = sha256;
  }
  const id = getAttr(owner, 'id');
  return { deployment, ...(id ? { id } : {}), vm, artifacts };
}

function namespaceOf(el: XmlElement): string | undefined {
  const prefix = el.name.includes(':') ? el.name.split(':')[0] : undefined;
  return getAttr(el, prefix ? `xmlns:${prefix}` : 'xmlns');
}
