/**
 * The Nx plugin: for every context in the workspace, a cacheable `context-iso` target whose inputs are exactly the
 * context's files (with the cloud-config files a context file names) and whose outputs are `dist/contexts/<name>.iso` and its `.sha256`. Nothing here imports the
 * builders: Nx loads this file to compute the project graph, before anything in a workspace is built.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTEXT_GLOB, contextLocations, namedInputs } from './contexts.js';

/**
 * @typedef {object} ContextIsoPluginOptions
 * @property {string} [targetName]  the inferred target's name; default `context-iso`
 * @property {string} [outputDir]  where the ISOs go, relative to the workspace root; default `dist/contexts`
 * @property {'both' | 'cloud-init' | 'snooze'} [format]  the CD's layouts, as `vmctx context iso --format`; default both
 *   for a context file (cloud-init's NoCloud seed and Snooze's layout), snooze for a context/ folder
 * @property {string} [label]  volume label; default cidata for a CD with the NoCloud seed, CONTEXT for Snooze's alone
 * @property {number} [epoch]  one date for everything in every image (seconds since 1970); default 0
 * @property {import('nx/src/devkit-exports.js').TargetConfiguration['dependsOn']} [dependsOn]  tasks to run
 *   first (in the vmctx workspace itself: the builds of the builders); none by default
 */

/**
 * The targets of every context, keyed by the file that made it (what Nx asks createNodesV2 to return).
 * @param {readonly string[]} files  workspace-relative paths matching CONTEXT_GLOB
 * @param {ContextIsoPluginOptions | undefined} options
 * @param {string} workspaceRoot
 * @returns {import('nx/src/devkit-exports.js').CreateNodesResultV2}
 */
export function contextIsoNodes(files, options, workspaceRoot) {
  const targetName = options?.targetName ?? 'context-iso';
  const outputDir = (options?.outputDir ?? 'dist/contexts').replace(/\/+$/, '');
  if (options?.epoch !== undefined && !(Number.isInteger(options.epoch) && options.epoch >= 0)) {
    throw new Error(`@vmctx/nx-context-iso: epoch ${String(options.epoch)} is not a whole number of seconds since 1970`);
  }
  return contextLocations(files).map((context) => {
    const output = `${outputDir}/${context.name}.iso`;
    // A folder that already is a project (project.json, package.json) keeps its name and gets the target.
    const isProject = ['project.json', 'package.json'].some((f) => existsSync(join(workspaceRoot, context.root, f)));
    /** @type {import('nx/src/devkit-exports.js').TargetConfiguration} */
    const target = {
      executor: '@vmctx/nx-context-iso:context-iso',
      cache: true,
      inputs: context.kind === 'file' ? [...context.inputs, ...namedInputs(context, readText(join(workspaceRoot, context.input)))] : context.inputs,
      outputs: [`{workspaceRoot}/${output}`, `{workspaceRoot}/${output}.sha256`],
      options: {
        input: context.input,
        output,
        ...(options?.format !== undefined && context.kind === 'file' ? { format: options.format } : {}),
        ...(options?.label !== undefined ? { label: options.label } : {}),
        epoch: options?.epoch ?? 0,
      },
      ...(options?.dependsOn !== undefined ? { dependsOn: options.dependsOn } : {}),
      metadata: {
        technologies: ['vmctx'],
        description: `The context ISO of ${context.input} (${output} and ${output}.sha256)`,
      },
    };
    const file = context.kind === 'file' ? context.input : `${context.input}/post-install`;
    return /** @type {const} */ ([
      file,
      {
        projects: {
          [context.root]: {
            ...(isProject ? {} : { name: `context-${context.name}` }),
            targets: { [targetName]: target },
          },
        },
      },
    ]);
  });
}

/**
 * A file's text, or '' when it cannot be read (the target reports that when it runs).
 * @param {string} path
 * @returns {string}
 */
function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** @type {import('nx/src/devkit-exports.js').CreateNodesV2<ContextIsoPluginOptions>} */
export const createNodesV2 = [CONTEXT_GLOB, (files, options, context) => contextIsoNodes(files, options, context.workspaceRoot)];
