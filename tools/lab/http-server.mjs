// The lab's HTTP server (issue 22: images fetched by the controllers themselves, `fetch: controller`): serves the
// files of one folder, read-only, with GET and HEAD and single byte ranges (RFC 9110 §14: `Range: bytes=N-` or
// `bytes=N-M` answered 206 with Content-Range, §14.4; past the end 416, §15.5.17), on 127.0.0.1:PORT here and on
// a Unix socket, which each controller's namespace reaches through its own forwarder on its 127.0.0.1:PORT (a
// socket file crosses network namespaces; tools/lab/lib/controller.sh). So one URL, http://127.0.0.1:PORT/NAME,
// is the same file here and on every controller, and nothing listens beyond loopback.
// Usage: node http-server.mjs FOLDER PORT SOCKET
import { createReadStream, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';

const [folder, port, socket] = process.argv.slice(2);

function serve(req, res) {
  const name = normalize(decodeURIComponent(new URL(req.url, 'http://lab').pathname)).replace(/^\/+/, '');
  if ((req.method !== 'GET' && req.method !== 'HEAD') || name === '' || name.startsWith('..')) return res.writeHead(400).end();
  let st;
  try {
    st = statSync(join(folder, name));
  } catch {
    return res.writeHead(404).end();
  }
  if (!st.isFile()) return res.writeHead(404).end();
  const headers = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (range) {
    start = Number(range[1]);
    if (range[2] !== '') end = Math.min(end, Number(range[2]));
    if (start >= st.size || start > end) return res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end();
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
  }
  headers['content-length'] = String(end - start + 1);
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || st.size === 0) return res.end();
  createReadStream(join(folder, name), { start, end }).pipe(res);
}

rmSync(socket, { force: true });
createServer(serve).listen(Number(port), '127.0.0.1');
createServer(serve).listen(socket);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => (rmSync(socket, { force: true }), process.exit(0)));
