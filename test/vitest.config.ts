import { defineConfig } from 'vitest/config';
import LongChainsFirst from './sequencer.js';

// End-to-end suites: `*.tools.spec.ts` need the Debian tools (genisoimage, qemu-img, ...),
// `*.lab.spec.ts` need the lab (`tools/lab/lab up`), which `npm test` brings up around them.
export default defineConfig({
  resolve: { conditions: ['@vmctx/source'] },
  ssr: { resolve: { conditions: ['@vmctx/source'] } },
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.spec.ts'],
    environment: 'node',
    testTimeout: 240_000,
    hookTimeout: 600_000,
    // Lab suites share controllers and boot guests; files run in parallel, within reason for 2 cores.
    maxWorkers: 3,
    fileParallelism: true,
    // The long chains of guest boots first (sequencer.ts).
    sequence: { sequencer: LongChainsFirst },
  },
});
