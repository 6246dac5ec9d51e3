import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * The one Vitest configuration of every project's unit tests (each project's vitest.config.ts re-exports it,
 * so Nx still finds a test target there). Tests import sibling packages from their TypeScript sources (the
 * "@vmctx/source" export condition), so `npm run test:unit` needs no build first.
 */
export default defineConfig({
  resolve: { conditions: ['@vmctx/source'] },
  ssr: { resolve: { conditions: ['@vmctx/source'] } },
  test: {
    include: ['src/**/*.spec.ts'],
    environment: 'node',
    // Hang detectors, not speed limits: CI shares two cores with other suites, where a test that spawns
    // processes (ssh-keygen, shells) or a set-up that makes RSA keys can take several times its quiet time.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Vitest's default (the cores less one) is one worker on the 2-core machine, where the deployer's suite, the last
    // to finish, then leaves the other core mostly idle: two workers take it from 197 s to 157 s there (wall; 247 and
    // 290 s of CPU). The same as the default on bigger machines.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
