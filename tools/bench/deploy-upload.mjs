// One upload by the deployer, as `vmctx deploy` does it: ControllerConnection.open, then uploadFile (temporary
// name, sparse digest verified on the controller, rename). Run once per sample by tools/bench/deploy.sh, in a fresh
// process so that its peak RSS is the upload's own.
// Usage: node deploy-upload.mjs CONTROLLER_JSON LOCAL REMOTE SHA256
// Prints one JSON line: { totalMs, verifyMs, transferMs, connectMs, maxRssKiB, wireBytes }. totalMs is
// uploadFile's wall time (connection already open); transferMs runs until the last frame is handed to ssh (the
// controller writes them as they come); verifyMs = totalMs - transferMs: the rest of the bytes' way, the digest of
// the file there (its data read back, not its holes), its comparison and the rename, until the one command that
// receives them ends.
// wireBytes: what went into the channel (frames: data, their headers, `end`; holes are not sent).
// With CUT_AT_WIRE=N in the environment, the process kills itself (SIGKILL, as a deployer killed mid-way) once N
// bytes went into the channel, after printing { cutAtWire } (deploy.sh part 9: what the next upload sends).
import { statSync } from 'node:fs';
import { ControllerConnection, fileDigests, uploadFile } from '@vmctx/deployer';

const [controllerJson, local, remote, sha256] = process.argv.slice(2);
const cutAtWire = process.env.CUT_AT_WIRE ? Number(process.env.CUT_AT_WIRE) : undefined;
const controller = JSON.parse(controllerJson);
const size = statSync(local).size;
// The digests as the deploy's cache knows them (artifacts/cache.ts: computed once a file, not at each upload).
const { sparseSha256 } = await fileDigests(local);

const t0 = performance.now();
const connection = await ControllerConnection.open(controller);
const connectMs = performance.now() - t0;

let transferMs = 0;
let wireBytes = 0;
const start = performance.now();
await uploadFile(connection, local, remote, {
  sha256,
  sparseSha256,
  size,
  mode: '0600',
  onProgress: (sent, _total, wire) => {
    wireBytes = wire ?? sent;
    if (cutAtWire !== undefined && wireBytes >= cutAtWire) {
      console.log(JSON.stringify({ cutAtWire: wireBytes }));
      process.kill(process.pid, 'SIGKILL');
    }
    if (sent === size) transferMs = performance.now() - start;
  },
});
const totalMs = performance.now() - start;
connection.close();
const maxRssKiB = process.resourceUsage().maxRSS;
console.log(JSON.stringify({ totalMs, verifyMs: totalMs - transferMs, transferMs, connectMs, maxRssKiB, wireBytes }));
