// Builds the artifacts of a deployment in one process, as `vmctx deploy` does before it connects: loadDeployment,
// then buildArtifacts (context ISO, qcow2 overlay and domain XML per VM) into CACHE_DIR, ROUNDS times in a row;
// the first round finds CACHE_DIR empty (cold) when deploy.sh made it so, the others find it full (warm).
// Usage: node deploy-artifacts.mjs DEPLOYMENT_FILE CACHE_DIR ROUNDS
// Prints one JSON line: { vms, isos, overlays, ms: [per round] }.
import { ArtifactCache, buildArtifacts, loadDeployment } from '@vmctx/deployer';

const [file, cacheDir, rounds] = process.argv.slice(2);
const ms = [];
let artifacts = [];
for (let i = 0; i < Number(rounds); i++) {
  const start = performance.now();
  const deployment = await loadDeployment(file);
  artifacts = await buildArtifacts(deployment, { cache: new ArtifactCache(cacheDir) });
  ms.push(performance.now() - start);
}
const distinct = (kind) => new Set(artifacts.flatMap((a) => (a[kind] ? [a[kind].sha256] : []))).size;
console.log(JSON.stringify({ vms: artifacts.length, isos: distinct('iso'), overlays: distinct('overlay'), xmls: artifacts.filter((a) => a.xml).length, ms }));
