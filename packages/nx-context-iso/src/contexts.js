/**
 * Which contexts a workspace holds, from the files Nx's glob found: a `context.yaml` is a context named after its
 * folder; a `context/` folder holding `post-install` (Snooze's layout) is a context named after the folder around
 * it. Pure: paths in, contexts out, so the rules are tested without a workspace.
 */
import { posix } from 'node:path';
import { parse } from 'yaml';

/** The file names that make a context, as one glob for Nx (`createNodesV2`'s first element). */
export const CONTEXT_GLOB = '**/{context.yaml,context/post-install}';

/** A context's name becomes a file name (`dist/contexts/<name>.iso`) and part of a project name. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * @typedef {object} ContextLocation
 * @property {string} name  the folder's name: `dist/contexts/<name>.iso`
 * @property {string} root  the folder the context lives in, relative to the workspace root (the project's root)
 * @property {'file' | 'folder'} kind  a context file, or a Snooze context/ folder
 * @property {string} input  what `vmctx context iso` takes: `<root>/context.yaml` or `<root>/context`
 * @property {string[]} inputs  the Nx inputs: exactly the context's files
 */

/**
 * The contexts that `files` (workspace-relative paths matched by CONTEXT_GLOB) name, sorted by name.
 * Throws when two contexts would write the same ISO, or a name cannot be a file name.
 * @param {readonly string[]} files
 * @returns {ContextLocation[]}
 */
export function contextLocations(files) {
  /** @type {Map<string, ContextLocation>} */
  const byName = new Map();
  for (const file of [...files].map((f) => f.split('\\').join('/')).sort()) {
    const location = locate(file);
    if (location === undefined) continue;
    if (location.root === '.') throw new Error(`${file}: a context at the workspace root has no folder to be named after; move it into one`);
    if (!NAME.test(location.name)) throw new Error(`${file}: the context's name "${location.name}" must be letters, digits, ".", "_" or "-" (it names dist/contexts/<name>.iso)`);
    const other = byName.get(location.name);
    if (other !== undefined) {
      throw new Error(`${other.input} and ${location.input} are both the context "${location.name}": each would write ${location.name}.iso; rename one folder`);
    }
    byName.set(location.name, location);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * @param {string} file
 * @returns {ContextLocation | undefined}
 */
function locate(file) {
  const base = posix.basename(file);
  const dir = posix.dirname(file);
  if (base === 'context.yaml') {
    return { name: posix.basename(dir === '.' ? '' : dir), root: dir, kind: 'file', input: file, inputs: ['{projectRoot}/context.yaml'] };
  }
  if (base === 'post-install' && posix.basename(dir) === 'context') {
    const root = posix.dirname(dir);
    return { name: posix.basename(root === '.' ? '' : root), root, kind: 'folder', input: dir, inputs: ['{projectRoot}/context/**/*'] };
  }
  return undefined;
}

/**
 * The Nx inputs of the files a context file names besides itself: its `cloudInit.userData` and
 * `cloudInit.networkConfig` (the operator's cloud-config, read beside the context file as `vmctx context iso` reads
 * them), so that an edit of one builds the ISO again instead of restoring it from the cache. Paths relative to the
 * workspace root; one outside it cannot be an Nx input and is left out. A context that does not parse names
 * nothing: the target itself then fails with the parser's error.
 * @param {ContextLocation} location  a context file (kind 'file')
 * @param {string} text  its content
 * @returns {string[]}
 */
export function namedInputs(location, text) {
  /** @type {unknown} */
  let value;
  try {
    value = parse(text);
  } catch {
    return [];
  }
  const cloudInit = /** @type {{ cloudInit?: Record<string, unknown> } | null} */ (value)?.cloudInit;
  if (typeof cloudInit !== 'object' || cloudInit === null) return [];
  return ['userData', 'networkConfig']
    .map((key) => cloudInit[key])
    .filter((path) => typeof path === 'string' && path !== '')
    .map((path) => posix.normalize(posix.isAbsolute(/** @type {string} */ (path)) ? /** @type {string} */ (path) : posix.join(location.root, /** @type {string} */ (path))))
    .filter((path) => !posix.isAbsolute(path) && path !== '..' && !path.startsWith('../'))
    .map((path) => `{workspaceRoot}/${path}`);
}
