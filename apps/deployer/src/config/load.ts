/**
 * The deployment file to a Deployment, in phases with data between them: read the YAML (keeping lines), check
 * the shape (zod), expand defaults and counts, resolve paths and SSH settings, check across entries. A phase
 * reports every problem it finds; the next runs only on a shape that held, so a message never follows from an
 * earlier one.
 */
import { homedir, userInfo } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { contentSizeProblem, MAX_CONTENT_BYTES } from '@vmctx/guest-script';
import type { Deployment, VmConfig } from './types.js';
import { unsafeCharacterProblems } from './characters.js';
import { checkIdentities, checkReferences, checkUniqueNames, checkVmNames } from './checks.js';
import { resolveController, resolveImage } from './controllers.js';
import { expandVms, type VmDraft } from './expand.js';
import { checkIsoPaths, hostAccessOf } from './host-paths.js';
import { MAX_DEPLOYMENT_BYTES, readDeploymentText } from './file-text.js';
import { readYaml, type YamlSource } from './locate.js';
import type { LoadOptions, ResolveContext } from './options.js';
import { resolveLocal } from './paths.js';
import { deploymentKeys } from './did-you-mean.js';
import { DeploymentError, Problems, problemsFromZod, formatPath, type LocatedProblem, type Problem } from './problems.js';
import { DeploymentFileSchema, SAFE_NAME } from './schema.js';
import { readSshConfig } from './ssh-config.js';
import { resolveVm } from './vms.js';

export type { LoadOptions };

/**
 * Reads and checks a deployment file. Throws a DeploymentError (CONFIG_INVALID...) listing every problem; the file
 * is refused before it is read over MAX_DEPLOYMENT_BYTES (CONFIG_TOO_LARGE), and if it is not UTF-8 (CONFIG_NOT_UTF8).
 */
export async function loadDeployment(file: string, options: LoadOptions = {}): Promise<Deployment> {
  return parseDeployment(await readDeploymentText(file), file, options);
}

/** As loadDeployment, from text already read; `file` names it in messages and anchors its relative paths. */
export async function parseDeployment(text: string, file: string, options: LoadOptions = {}): Promise<Deployment> {
  // An inline context's content over guest-script's limit is refused from the tokens, before the YAML is composed
  // (a 20 MB content would cost the line-keeping reader most of a gigabyte).
  const big = contentSizeProblem(text);
  if (big !== undefined) {
    const message = `at least ${big.bytes} bytes, more than a file content may have (${MAX_CONTENT_BYTES} bytes); refused before parsing`;
    throw new DeploymentError([{ path: big.path, message, code: 'CONFIG_INVALID', kind: 'input' }], file);
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_DEPLOYMENT_BYTES) {
    const message = `${bytes} bytes, more than a deployment file may have (${MAX_DEPLOYMENT_BYTES} bytes); refused before parsing`;
    throw new DeploymentError([{ path: '', message, code: 'CONFIG_TOO_LARGE', kind: 'input' }], file);
  }
  const source = readAliasBounded(text, file);
  if (!source.ok) throw new DeploymentError(source.problems, file);
  // Before the schema: a field's own message would quote the character it holds.
  const unsafe = unsafeCharacterProblems(text, source.value, source.lineOf);
  if (unsafe.length > 0) throw new DeploymentError(unsafe, file);
  const fail = (problems: readonly Problem[]): never => {
    const located: LocatedProblem[] = problems.map(({ at, ...rest }) => ({ ...rest, path: formatPath(at), line: source.lineOf(at) }));
    // In the file's order, so the list reads top to bottom; stable for problems on one line.
    located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new DeploymentError(located, file);
  };

  const parsed = DeploymentFileSchema.safeParse(source.value);
  if (!parsed.success) return fail(problemsFromZod(parsed.error.issues, [], deploymentKeys));
  const data = parsed.data;

  const env = options.env ?? process.env;
  const homeDir = options.homeDir ?? env['HOME'] ?? homedir();
  const problems = new Problems();
  const ctx: ResolveContext = {
    file,
    baseDir: dirname(resolve(file)),
    homeDir,
    localUser: localUser(env),
    sshConfig: await readSshConfig(resolveLocal(options.sshConfigPath ?? join(homeDir, '.ssh', 'config'), process.cwd(), homeDir)),
    problems,
  };

  const name = data.name ?? basename(file, extname(file));
  if (data.name === undefined && !SAFE_NAME.test(name)) {
    problems.add([], `the file's name "${name}" cannot name the deployment (letters, digits, '.', '_', '-'): give name:`, 'CONFIG_INVALID_NAME');
  }

  checkUniqueNames('controllers', data.controllers, problems);
  checkUniqueNames('images', data.images, problems);
  const drafts = expandVms(data.vms, data.defaults, problems);
  checkVmNames(drafts, problems);
  checkReferences(
    drafts,
    data.controllers.map((c) => c.name),
    data.images.map((i) => i.name),
    problems,
  );

  const caches: Parameters<typeof resolveVm>[2] = { context: new Map(), kinds: new Map() };
  const [controllers, images, vms] = await Promise.all([
    Promise.all(data.controllers.map((entry, i) => resolveController(entry, i, ctx))),
    Promise.all(data.images.map((entry, i) => resolveImage(entry, i, ctx))),
    // In order, so that the first member of a group reports a shared problem (they are said once).
    sequentially(drafts, async (draft) => ({ draft, vm: await resolveVm(draft, ctx, caches) })),
  ]);
  checkIdentities(
    vms.filter((r): r is { draft: VmDraft; vm: VmConfig } => r.vm !== undefined),
    problems,
  );
  checkIsoPaths(vms, controllers, hostAccessOf(data), problems);
  if (problems.size > 0) return fail(problems.list);

  return { name, file: resolve(file), ...hostAccessOf(data), controllers, images, vms: vms.map((r) => r.vm!) };
}

/**
 * readYaml, with the one error it throws rather than returns: yaml's toJS stops expanding aliases past
 * maxAliasCount (100) with a bare ReferenceError, which would end the command without a code.
 */
function readAliasBounded(text: string, file: string): YamlSource {
  try {
    return readYaml(text);
  } catch (error) {
    if (!(error instanceof ReferenceError && /^Excessive alias count/.test(error.message))) throw error;
    const message =
      'YAML aliases expand more than 100 times: an alias bomb ("billion laughs"), or one anchor used over 100 times; refused (give fields shared by many VMs once, under defaults:)';
    throw new DeploymentError([{ path: '', message, code: 'CONFIG_ALIAS_LIMIT', kind: 'input' }], file);
  }
}

async function sequentially<T, R>(items: T[], run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await run(item));
  return out;
}

/** ssh's default remote user is the local one; os.userInfo throws where the uid has no passwd entry (containers). */
function localUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env['USER'] ?? env['LOGNAME'] ?? 'root';
  }
}
