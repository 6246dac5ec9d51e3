#!/usr/bin/env bash
# The deployer against 10, 50, 100 and 200 simulated controllers (deploy-scale.ts): wall time of deploy, a
# no-change plan and destroy, CPU on each side, the deployer's peak RSS, sockets and event-loop stalls. No lab
# needed: the controllers are ssh2 servers on 127.0.0.1 running each command through a real sh with a fake virsh.
# Usage: tools/bench/deploy-scale.sh [ROUNDS]   (default 3; SCALE_SIZES, SCALE_VMS, SCALE_CONCURRENCY: see the .ts)
# deploy-scale.ts imports the deployer's TypeScript sources and its test support (FakeController), which no build
# ships: rolldown bundles it into node_modules/.cache/vmctx-bench (the npm packages stay external), beside the fake
# virsh and ip it reads, and plain node runs it, so that the figures are the deployer's, not a TypeScript loader's.
set -euo pipefail
ROUNDS="${1:-3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/node_modules/.cache/vmctx-bench"
mkdir -p "$OUT"
cp "$ROOT/apps/deployer/src/controller/fake-controller.virsh.sh" "$ROOT/apps/deployer/src/controller/fake-controller.ip.sh" "$OUT/"
(cd "$ROOT" && node --input-type=module - "$OUT/deploy-scale.mjs" <<'EOF'
import { build } from 'rolldown';
await build({
  input: 'tools/bench/deploy-scale.ts',
  platform: 'node',
  // The workspace's packages from their sources (as the unit tests take them); npm packages from node_modules.
  resolve: { conditionNames: ['@vmctx/source', 'import', 'node', 'default'] },
  external: (id) => id !== 'ssh2' && id !== 'vitest' && !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('@vmctx/') && !id.startsWith('\0'),
  plugins: [
    {
      name: 'shims',
      resolveId: (id) => (id === 'vitest' || id === 'ssh2' ? `\0${id}` : null),
      load: (id) =>
        // FakeController's module imports vitest for a test helper the bench does not call: not loaded.
        id === '\0vitest' ? 'export const expect = () => { throw new Error("vitest only"); };'
        // ssh2 is CommonJS, and node's import finds only some of its names (not Server).
        : id === '\0ssh2' ? `import { createRequire } from 'node:module'; const ssh2 = createRequire(${JSON.stringify(`${process.cwd()}/package.json`)})('ssh2'); export const { Client, Server, utils } = ssh2; export default ssh2;`
        : null,
    },
  ],
  logLevel: 'warn',
  output: { file: process.argv[2], format: 'esm', codeSplitting: false },
});
EOF
)
node "$OUT/deploy-scale.mjs" "$ROUNDS"
