#!/usr/bin/env node
// The lab's stand-in for the vendor's TeamCity artifact server (runs on the controller, not in a
// host): serves files of --root under /repository/download/ to one user with HTTP basic auth.
// The password is read from --password-file and never printed or logged.
// Usage: node artifact-server.mjs --root=DIR --bind=127.0.10.1 --port=8111 --user=cmw-devops
//          --password-file=FILE --state-file=FILE   (state: {"url","port","pid"} once listening)
import { timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseOptions } from './common.mjs';

const PREFIX = '/repository/download/';
const opts = parseOptions(process.argv.slice(2));
for (const required of ['root', 'bind', 'port', 'user', 'password-file', 'state-file']) {
  if (!opts[required]) {
    process.stderr.write(`artifact-server.mjs: --${required}= is required\n`);
    process.exit(2);
  }
}
const root = path.resolve(opts.root);
const expected = Buffer.from(`${opts.user}:${fs.readFileSync(opts['password-file'], 'utf8').trim()}`);

function authorized(header) {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1], 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function log(req, status) {
  // Method, path and status only: never headers (they carry the credentials).
  process.stdout.write(`${new Date().toISOString()} ${req.method} ${req.url} ${status}\n`);
}

const server = http.createServer((req, res) => {
  req.resume();
  const reply = (status, body, headers = {}) => {
    res.writeHead(status, {
      'Content-Type': 'text/plain',
      'Content-Length': Buffer.byteLength(body),
      ...headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    log(req, status);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return reply(405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
  if (!authorized(req.headers.authorization)) {
    return reply(401, 'Authentication required\n', { 'WWW-Authenticate': 'Basic realm="TeamCity"' });
  }
  const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://artifacts').pathname);
  const file = path.resolve(root, `.${pathname.slice(PREFIX.length - 1)}`);
  if (!pathname.startsWith(PREFIX) || !file.startsWith(`${root}${path.sep}`))
    return reply(404, 'Not Found\n');
  let stat;
  try {
    stat = fs.statSync(file);
  } catch {
    return reply(404, `Artifact not found: ${pathname}\n`);
  }
  if (!stat.isFile()) return reply(404, `Artifact not found: ${pathname}\n`);
  res.writeHead(200, {
    'Content-Type': 'application/gzip',
    'Content-Length': stat.size,
    'Content-Disposition': `attachment; filename="${path.basename(file)}"`,
  });
  log(req, 200);
  if (req.method === 'HEAD') return res.end();
  fs.createReadStream(file).pipe(res);
});

let triedFallback = false;
server.on('error', (err) => {
  // The fixed port is taken (another lab?): take any free one; the state file says which.
  if (err.code === 'EADDRINUSE' && !triedFallback) {
    triedFallback = true;
    server.listen(0, opts.bind);
    return;
  }
  process.stderr.write(`artifact-server.mjs: cannot listen on ${opts.bind}:${opts.port}: ${err.message}\n`);
  process.exit(1);
});
server.listen(Number(opts.port), opts.bind, () => {
  const { port } = server.address();
  const state = { url: `http://${opts.bind}:${port}${PREFIX.slice(0, -1)}`, port, pid: process.pid };
  const tmp = `${opts['state-file']}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state)}\n`);
  fs.renameSync(tmp, opts['state-file']);
  process.stdout.write(`${new Date().toISOString()} serving ${root} at ${state.url}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
