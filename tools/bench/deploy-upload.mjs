// One upload by the deployer, as `vmctx deploy` does it: ControllerConnection.open, then uploadFile (temporary
// name, sha256 verified on the controller, rename). Run once per sample by tools/bench/deploy.sh, in a fresh
// process so that its peak RSS is the upload's own.
// Usage: node deploy-upload.mjs CONTROLLER_JSON LOCAL REMOTE SHA256
// Prints one JSON line: { totalMs, verifyMs, transferMs, connectMs, maxRssKiB }. totalMs is uploadFile's wall
// time (connection already open); verifyMs is the controller's `sha256sum` + rename (the exec uploadFile runs
// after the bytes are in), timed by wrapping the connection's exec; transferMs = totalMs - verifyMs.
import { statSync } from 'node:fs';
import { ControllerConnection, uploadFile } from '@vmctx/deployer';

const [controllerJson, local, remote, sha256] = process.argv.slice(2);
const controller = JSON.parse(controllerJson);
const size = statSync(local).size;

const t0 = performance.now();
const connection = await ControllerConnection.open(controller);
const connectMs = performance.now() - t0;

let verifyMs = 0;
const exec = connection.exec.bind(connection);
connection.exec = async (argv, options) => {
  const start = performance.now();
  try {
    return await exec(argv, options);
  } finally {
    if (argv.includes('vmctx-verify')) verifyMs += performance.now() - start;
  }
};

const start = performance.now();
await uploadFile(connection, local, remote, { sha256, size, mode: '0600' });
const totalMs = performance.now() - start;
connection.close();
const maxRssKiB = process.resourceUsage().maxRSS;
console.log(JSON.stringify({ totalMs, verifyMs, transferMs: totalMs - verifyMs, connectMs, maxRssKiB }));
