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
import type { Problems } from './problems.js';
import type { DeploymentFile } from './schema.js';
import type { ControllerConfig, Deployment, VmConfig } from './types.js';

/** The deployment's own fields of host access, defaults applied. */
export function hostAccessOf(data: Pick<DeploymentFile, 'hostPaths' | 'trustTemplates'>): Pick<Deployment, 'hostPaths' | 'trustTemplates'> {
  return { hostPaths: (data.hostPaths ?? []).map((folder) => posix.normalize(folder)), trustTemplates: data.trustTemplates ?? false };
}

/** The folders a VM on `controller` may name files in. */
export function allowedHostFolders(deployment: Pick<Deployment, 'hostPaths'>, controller: Pick<ControllerConfig, 'imageDir'>): string[] {
  return [controller.imageDir, LIBVIRT_IMAGE_DIR, ...deployment.hostPaths];
}

/** Each VM's `iso:` lies in an allowed folder of its controller, unless the deployment trusts its templates. */
export function checkIsoPaths(
  resolved: readonly { draft: VmDraft; vm: VmConfig | undefined }[],
  controllers: readonly ControllerConfig[],
  access: Pick<Deployment, 'hostPaths' | 'trustTemplates'>,
  problems: Problems,
): void {
  if (access.trustTemplates) return;
  for (const { draft, vm } of resolved) {
    if (vm?.context.kind !== 'remote-iso') continue;
    const controller = controllers.find((c) => c.name === vm.controller);
    if (controller === undefined) continue;
    const problem = hostPathProblem(vm.context.path, allowedHostFolders(access, controller));
    if (problem === undefined) continue;
    problems.add(
      draft.origin.iso!,
      `${vm.context.path} ${problem} on controller ${controller.name}: libvirt would open it as root for ${vm.name}; put the ISO in ${controller.imageDir}, or list its folder under hostPaths:, or set trustTemplates: true`,
    );
  }
}
