/**
 * The `@vmctx/nx-context-iso:context-iso` executor: `vmctx context iso` as an Nx target, for projects that declare
 * their targets (the plugin infers the same target for every context it finds). Paths are relative to the
 * workspace root. Prints one line: path, size, sha256.
 */
import { buildContextIso, isoLine } from './build.js';

/**
 * @param {import('./build.js').ContextIsoOptions} options
 * @param {Pick<import('nx/src/devkit-exports.js').ExecutorContext, 'root'>} context
 * @returns {Promise<{ success: boolean }>}
 */
export default async function contextIsoExecutor(options, context) {
  try {
    const iso = await buildContextIso(options, context.root);
    for (const problem of iso.problems) console.warn(`${options.input}: ${problem}`);
    console.log(isoLine(iso));
    return { success: true };
  } catch (error) {
    const code = /** @type {{ code?: unknown }} */ (error).code;
    console.error(`${options.input}: ${error instanceof Error ? error.message : String(error)}${typeof code === 'string' ? ` [${code}]` : ''}`);
    return { success: false };
  }
}
