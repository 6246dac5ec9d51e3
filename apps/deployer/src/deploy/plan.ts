/**
 * A plan is a value: per controller, one step per VM with its reason (create, replace and why, unchanged),
 * the domains of this deployment that the file no longer has (left alone, or pruned with --prune), and the
 * files to upload. `plan` prints it; `deploy` applies exactly it; nothing is decided twice.
 */
import type { RemoteArtifact, VmArtifacts } from '../artifacts/build.js';
import type { DomainInfo } from '../controller/libvirt.js';
import type { ControllerState } from '../controller/preflight.js';
import type { ControllerStateFile } from './state.js';
import { uniqueBy } from '../util/unique-by.js';
import { domainDrift } from './domain-drift.js';
import { domainXmlChanges } from './xml-diff.js';

export type StepAction = 'create' | 'replace' | 'unchanged' | 'orphan' | 'prune';

export interface PlanStep {
  vm: string;
  action: StepAction;
  /** Why: which artifact or field changed, or why an orphan is kept. */
  reasons: string[];
}

export interface ControllerPlan {
  controller: string;
  steps: PlanStep[];
  /** Files that are missing on the controller and would be uploaded. */
  uploads: { path: string; bytes: number; kind: RemoteArtifact['kind'] }[];
}

/** True when applying the plan changes something on the controller. */
export function hasChanges(plan: ControllerPlan): boolean {
  return plan.uploads.length > 0 || plan.steps.some((s) => s.action !== 'unchanged' && s.action !== 'orphan');
}

export function planController(deployment: string, vms: readonly VmArtifacts[], state: ControllerState, recorded: ControllerStateFile, options: { prune?: boolean } = {}): ControllerPlan {
  const ours = (name: string) => state.domains.find((d) => d.name === name && d.owner?.deployment === deployment);
  const steps: PlanStep[] = vms.map((v) => {
    const existing = ours(v.vm.name);
    if (!existing) return { vm: v.vm.name, action: 'create', reasons: ['no domain of this deployment by that name'] };
    const reasons = replaceReasons(v, existing, recorded);
    return reasons.length === 0 ? { vm: v.vm.name, action: 'unchanged', reasons: [] } : { vm: v.vm.name, action: 'replace', reasons };
  });
  const wanted = new Set(vms.map((v) => v.vm.name));
  const owned = new Set([...state.domains.filter((d) => d.owner?.deployment === deployment).map((d) => d.name), ...Object.keys(recorded.vms)]);
  for (const name of [...owned].filter((n) => !wanted.has(n)).sort()) {
    steps.push(
      options.prune
        ? { vm: name, action: 'prune', reasons: ['no longer in the deployment file (--prune)'] }
        : { vm: name, action: 'orphan', reasons: ['no longer in the deployment file; left alone (--prune removes it)'] },
    );
  }
  // A replaced VM gets a fresh overlay: its file is there now but will be removed first.
  const replaced = new Set(steps.filter((s) => s.action === 'replace').map((s) => s.vm));
  const needed = uniqueBy(
    vms.filter((v) => steps.find((s) => s.vm === v.vm.name)!.action !== 'unchanged').flatMap((v) => [v.base, v.overlay, ...(v.iso ? [v.iso] : [])]),
    (f) => f.remotePath,
  );
  const uploads = needed
    .filter((f) => !state.present.has(f.remotePath) || (f.kind === 'overlay' && vms.some((v) => replaced.has(v.vm.name) && v.overlay.remotePath === f.remotePath)))
    .map((f) => ({ path: f.remotePath, bytes: f.size, kind: f.kind }));
  return { controller: state.controller, steps, uploads };
}

/** Why an existing domain of ours must be replaced; [] when it was made from exactly these artifacts. */
export function replaceReasons(v: VmArtifacts, existing: DomainInfo, recorded: ControllerStateFile): string[] {
  const before = existing.owner?.artifacts ?? {};
  const after = v.artifacts;
  const reasons: string[] = [];
  const short = (s: string | undefined) => (s ? s.slice(0, 12) : 'none');
  if (before.base !== after.base) reasons.push(`base image changed (${short(before.base)} → ${short(after.base)})`);
  if (before.iso !== after.iso) reasons.push(`context changed (ISO ${short(before.iso)} → ${short(after.iso)})`);
  if (before.overlay !== after.overlay && before.base === after.base) reasons.push('overlay changed');
  if (before.domain !== after.domain) {
    const old = recorded.vms[v.vm.name]?.xml;
    const fields = old ? domainXmlChanges(old, v.renderedXml) : [];
    reasons.push(fields.length > 0 ? `domain XML changed: ${fields.join('; ')}` : 'domain XML changed');
  } else {
    // Rendered as last time; is it still defined so? A hand edit on the controller is drift to undo.
    const edited = domainDrift(v.renderedXml, existing.xml);
    if (edited.length > 0) reasons.push(`domain edited on the controller: ${edited.join('; ')}`);
  }
  return reasons;
}
