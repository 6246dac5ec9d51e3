/**
 * A deployment's id: what tells two deployment files of one name apart on a controller. A deployment's name is by
 * default its file's base name, so every `deployment.yaml` is `deployment`; with the name alone, team B's
 * `plan --prune` listed team A's VMs and `destroy` removed them. The id is made once, at a deployment's first
 * deploy, and kept beside the file (`deployment.yaml` -> `deployment.yaml.vmctx-id`), to be committed with it;
 * every record and owner mark on the controllers carries it, and a record of another id is refused (state.ts).
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { Deployment } from '../config/types.js';
import type { DeploymentIdentity } from '../controller/owner-mark.js';
import { DeployerError } from '../errors.js';

export const DEPLOYMENT_ID_SUFFIX = '.vmctx-id';
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function deploymentIdFile(deploymentFile: string): string {
  return `${deploymentFile}${DEPLOYMENT_ID_SUFFIX}`;
}

/** The id kept beside the deployment file; undefined when the deployment never deployed. */
export async function readDeploymentId(deploymentFile: string): Promise<string | undefined> {
  const file = deploymentIdFile(deploymentFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DeployerError('CONFIG_ID_UNREADABLE', `cannot read the deployment's id file ${file}: ${(error as Error).message}`, { where: file, cause: error });
  }
  const id = text.trim();
  if (!ID.test(id)) throw new DeployerError('CONFIG_ID_INVALID', `${file} does not hold a deployment id (a UUID on one line); restore it from version control`, { where: file });
  return id;
}

/** The id kept beside the deployment file, made (exclusively: two first runs at once agree) when there is none. */
export async function ensureDeploymentId(deploymentFile: string): Promise<string> {
  const existing = await readDeploymentId(deploymentFile);
  if (existing !== undefined) return existing;
  const file = deploymentIdFile(deploymentFile);
  try {
    await writeFile(file, `${randomUUID()}\n`, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new DeployerError('CONFIG_ID_UNWRITABLE', `cannot write the deployment's id file ${file} (made at a deployment's first deploy, kept beside its file): ${(error as Error).message}`, {
        where: file,
        cause: error,
      });
    }
  }
  return (await readDeploymentId(deploymentFile))!;
}

/** The deployment as its marks and records name it. */
export function deploymentIdentity(deployment: Pick<Deployment, 'name' | 'id'>): DeploymentIdentity {
  return { name: deployment.name, ...(deployment.id ? { id: deployment.id } : {}) };
}
