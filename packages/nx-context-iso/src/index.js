/**
 * @vmctx/nx-context-iso: the Nx plugin (createNodesV2), the function behind its executor, and the rules that find
 * contexts. The executor itself is `@vmctx/nx-context-iso:context-iso` (executors.json).
 */
export { createNodesV2, contextIsoNodes } from './plugin.js';
export { CONTEXT_GLOB, contextLocations } from './contexts.js';
export { buildContextIso, gitModes, isoLine } from './build.js';
/** @typedef {import('./plugin.js').ContextIsoPluginOptions} ContextIsoPluginOptions */
/** @typedef {import('./contexts.js').ContextLocation} ContextLocation */
/** @typedef {import('./build.js').ContextIsoOptions} ContextIsoOptions */
/** @typedef {import('./build.js').ContextIso} ContextIso */
