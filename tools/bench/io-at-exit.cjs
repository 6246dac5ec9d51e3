// Preloaded into a node process by tools/bench/deploy.sh (node -r): at its exit, the bytes it read through read
// system calls (rchar of /proc/self/io: files, sockets and pipes alike) as one line "vmctx-bench-rchar N" on stderr.
// The bench compares a deploy to 1 and to 4 controllers: the local image read once or once per controller.
const { readFileSync, writeSync } = require('node:fs');

process.on('exit', () => {
  const rchar = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1];
  if (rchar) writeSync(2, `vmctx-bench-rchar ${rchar}\n`);
});
