/**
 * Which host files a deployment lets the controllers' libvirt (root) open: each controller's image folder,
 * libvirt's own /var/lib/libvirt/images, and the file's `hostPaths:`. template-renderer's host-access check holds
 * every domain to it when the artifacts are built (artifacts/build.ts); here the `iso:` paths of the file are held
 * to it as it is read, so that `iso: /etc/shadow` is refused at its line. `trustTemplates: true` lets both
 * through; the build still reports each use as a warning.
 */
import { posix } from 'node:path';
import { hostPathProblem, LIBVIRT_IMAGE_DIR } from '@vmctx/template-renderer';
import type { VmDraft } from './expand.js';
import { formatPath, type Path, type Problems } from './problems.js';
import type { DeploymentFile } from './schema.js';
import type { ControllerConfig, Deployment, VmConfig } from './types.js';

/** The deployment's own fields of host access, defaults applied. */
export function hostAccessOf(data: Pick<DeploymentFile, 'hostPaths' | 'trustTemplates'>): Pick<Deployment, 'hostPaths' | 'trustTemplates'> {
  // `/srv//x/./` is `/srv/x`: the folders read as they are compared (the schema refused `..` and `/` alone).
  return { hostPaths: (data.hostPaths ?? []).map((folder) => posix.normalize(folder).replace(/\/+$/, '')), trustTemplates: data.trustTemplates ?? false };
}

/** The folders a VM on `controller` may name files in. */
export function allowedHostFolders(deployment: Pick<Deployment, 'hostPaths'>, controller: Pick<ControllerConfig, 'imageDir'>): string[] {
  return [controller.imageDir, LIBVIRT_IMAGE_DIR, ...deployment.hostPaths];
}

/**
 * Each VM's `iso:` lies in an allowed folder of its controller, unless the deployment trusts its templates. Said once
 * per place in the file and controller, with the VMs it concerns (a count group, or defaults.iso).
 */
export function checkIsoPaths(
  resolved: readonly { draft: VmDraft; vm: VmConfig | undefined }[],
  controllers: readonly ControllerConfig[],
  access: Pick<Deployment, 'hostPaths' | 'trustTemplates'>,
  problems: Problems,
): void {
  if (access.trustTemplates) return;
  const refused = new Map<string, { at: Path; path: string; problem: string; controller: ControllerConfig; vms: string[] }>();
  for (const { draft, vm } of resolved) {
    if (vm?.context.kind !== 'remote-iso') continue;
    const controller = controllers.find((c) => c.name === vm.controller);
    if (controller === undefined) continue;
    const problem = hostPathProblem(vm.context.path, allowedHostFolders(access, controller));
    if (problem === undefined) continue;
    const at = draft.origin.iso!;
    const key = `${formatPath(at)}\0${controller.name}`;
    const entry = refused.get(key) ?? { at, path: vm.context.path, problem, controller, vms: [] };
    entry.vms.push(vm.name);
    refused.set(key, entry);
  }
  for (const { at, path, problem, controller, vms } of refused.values()) {
    problems.add(
      at,
      `${path} ${problem} on controller ${controller.name}: libvirt would open it as root for ${vms.join(', ')}; put the ISO in ${controller.imageDir}, or list its folder under hostPaths:, or set trustTemplates: true`,
    );
  }
}
