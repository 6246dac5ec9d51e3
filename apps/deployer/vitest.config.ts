// The workspace's one unit-test preset (vitest.preset.ts at the root).
export { default } from '../../vitest.preset.js';
