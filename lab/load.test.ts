import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { formatLoadReport, isLoopbackHost, labLoadTargets, startLoad } from './load.js';
import { eventually, tempLabDir } from './test-support.js';

interface TestServer {
  url: string;
  /** Requests seen, with the socket each came on and its Connection header. */
  requests: { path: string; socket: Socket; connection: string | undefined }[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];

/** A real HTTP server on 127.0.0.1; `handler` may leave a request unanswered to make it time out. */
async function serve(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? '', socket: req.socket, connection: req.headers.connection });
    handler(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const t: TestServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
  servers.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('startLoad', () => {
  it('sends steady GETs on a new connection each, counts them, and stops by itself', async () => {
    const server = await serve((req, res) => res.end(req.url === '/async' ? 'async' : 'page'));
    const load = startLoad({
      targets: [
        { name: 'user', url: `${server.url}/` },
        { name: 'integration', url: `${server.url}/async` },
      ],
      ratePerSecond: 40,
      durationMs: 500,
    });
    const report = await load.done;
    const [user, integration] = report.targets;
    expect(user).toMatchObject({ name: 'user', failed: 0, failures: [] });
    expect(integration).toMatchObject({ name: 'integration', failed: 0 });
    // Bounded: at most rate x duration per target; and it really sent something to each.
    for (const t of report.targets) {
      expect(t.sent).toBeGreaterThan(0);
      expect(t.sent).toBeLessThanOrEqual(20);
      expect(t.ok).toBe(t.sent);
    }
    expect(report.total).toMatchObject({
      sent: user!.sent + integration!.sent,
      ok: user!.ok + integration!.ok,
      failed: 0,
    });
    expect(server.requests.filter((r) => r.path === '/').length).toBe(user!.sent);
    expect(server.requests.filter((r) => r.path === '/async').length).toBe(integration!.sent);
    // No keep-alive: every request came on its own socket and asked to close it.
    expect(new Set(server.requests.map((r) => r.socket)).size).toBe(server.requests.length);
    expect(server.requests.every((r) => r.connection === 'close')).toBe(true);
    // stop() after the end returns the same report.
    expect(await load.stop()).toEqual(report);
  });

  it('counts failures, with reasons and times, when the server goes away mid-run', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const load = startLoad({
      targets: [{ name: 'user', url: `${server.url}/` }],
      ratePerSecond: 50,
      durationMs: 60_000,
    });
    await eventually(() => (load.snapshot().total.ok >= 5 ? true : undefined), 10_000, 'five successes');
    await server.close();
    await eventually(() => (load.snapshot().total.failed >= 5 ? true : undefined), 10_000, 'five failures');
    const report = await load.stop();
    const user = report.targets[0]!;
    expect(user.ok).toBeGreaterThanOrEqual(5);
    expect(user.failed).toBeGreaterThanOrEqual(5);
    expect(user.sent).toBe(user.ok + user.failed);
    expect(user.failures).toHaveLength(5);
    // Requests in flight when the server closes are reset (how many depends on the machine's load);
    // the ones sent after it are refused.
    expect(user.failures.at(-1)?.reason).toMatch(/^ECONNREFUSED/);
    for (const f of user.failures) {
      expect(f.reason).toMatch(/^(ECONNREFUSED|ECONNRESET)/);
      expect(new Date(f.at).getTime()).toBe(new Date(report.startedAt).getTime() + f.offsetMs);
    }
    // The longest gap is the outage: it starts at the last success, before the first failure, and runs to the end.
    expect(user.longestGapStartMs).toBeLessThanOrEqual(user.failures[0]!.offsetMs);
    expect(user.longestGapStartMs + user.longestGapMs).toBeGreaterThanOrEqual(user.failures[4]!.offsetMs);
    expect(report.total.longestGapMs).toBe(user.longestGapMs);
    expect(formatLoadReport(report)).toMatch(/user\s+http:\/\/127\.0\.0\.1:\d+\/\s+\d+\s+\d+\s+\d+/);
    expect(formatLoadReport(report)).toContain('ECONNREFUSED');
  });

  it('counts non-2xx/3xx answers and timeouts as failures; redirects are fine', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/down') res.writeHead(503).end('maintenance');
      else if (req.url === '/moved') res.writeHead(302, { Location: '/' }).end();
      // /hang: never answered, so the request times out
    });
    const load = startLoad({
      targets: [
        { name: 'down', url: `${server.url}/down` },
        { name: 'moved', url: `${server.url}/moved` },
        { name: 'hang', url: `${server.url}/hang` },
      ],
      ratePerSecond: 20,
      durationMs: 200,
      requestTimeoutMs: 150,
    });
    const report = await load.done;
    const byName = Object.fromEntries(report.targets.map((t) => [t.name, t]));
    expect(byName.down).toMatchObject({ ok: 0 });
    expect(byName.down!.failed).toBe(byName.down!.sent);
    expect(byName.down!.failures[0]!.reason).toBe('HTTP 503');
    expect(byName.moved!.ok).toBe(byName.moved!.sent);
    expect(byName.hang!.failed).toBe(byName.hang!.sent);
    expect(byName.hang!.failures[0]!.reason).toBe('timeout after 150ms');
    // No success at all on a target: its gap is the whole run.
    expect(byName.hang!.longestGapMs).toBe(report.durationMs);
  });

  it('caps requests in flight: beyond the cap a due request fails as not sent', async () => {
    const server = await serve(() => {});
    const load = startLoad({
      targets: [{ name: 'hang', url: `${server.url}/` }],
      ratePerSecond: 100,
      durationMs: 60_000,
      requestTimeoutMs: 1000,
      maxInFlight: 2,
    });
    await eventually(
      () => (load.snapshot().total.failed >= 1 ? true : undefined),
      10_000,
      'a not-sent failure',
    );
    const report = await load.stop();
    expect(server.requests.length).toBeLessThanOrEqual(2);
    expect(report.targets[0]!.failures[0]!.reason).toBe('not sent: 2 requests already in flight');
  });

  it('refuses targets that are not loopback, and bad rates', () => {
    expect(() => startLoad({ targets: [{ name: 'x', url: 'http://10.0.0.10/' }], ratePerSecond: 1 })).toThrow(
      UsageError,
    );
    expect(() =>
      startLoad({ targets: [{ name: 'x', url: 'http://example.com/' }], ratePerSecond: 1 }),
    ).toThrow(/not a loopback address/);
    expect(() => startLoad({ targets: [{ name: 'x', url: 'ftp://127.0.0.1/' }], ratePerSecond: 1 })).toThrow(
      /not http/,
    );
    expect(() => startLoad({ targets: [{ name: 'x', url: 'http://127.0.0.1/' }], ratePerSecond: 0 })).toThrow(
      /rate/,
    );
    expect(() => startLoad({ targets: [], ratePerSecond: 1 })).toThrow(/no targets/);
    expect(['127.0.10.10', 'localhost', '[::1]', '::1'].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['10.0.0.1', '128.0.0.1', 'example.com'].map(isLoopbackHost)).toEqual([false, false, false]);
  });
});

describe('labLoadTargets', () => {
  async function inventory(text: string): Promise<string> {
    const dir = tempLabDir('load');
    await fs.writeFile(path.join(dir, 'inventory.yml'), text);
    return dir;
  }

  it('sends user traffic to role web and integration traffic to role integration (comindware)', async () => {
    const dir = await inventory(
      'cluster: lab-comindware\nhosts:\n  web: { address: 127.0.10.10, roles: [web] }\n  integration: { address: 127.0.10.11, roles: [integration] }\n  backup: { address: 127.0.10.12, roles: [backup] }\n',
    );
    expect(await labLoadTargets(dir)).toEqual([
      { name: 'user', url: 'http://127.0.10.10/' },
      { name: 'integration', url: 'http://127.0.10.11/async' },
    ]);
    await fs.rm(dir, { recursive: true });
  });

  it("loads every ecsc host's service page, and refuses a lab without HTTP", async () => {
    const dir = await inventory(
      'cluster: lab-ecsc\nhosts:\n  ecsc-1: { address: 127.0.10.21, roles: [ecsc], vars: { service: ecsc } }\n  schedule-1: { address: 127.0.10.25, roles: [schedule], vars: { service: schedule } }\n',
    );
    expect(await labLoadTargets(dir)).toEqual([
      { name: 'ecsc-1', url: 'http://127.0.10.21:8080/ecsc/' },
      { name: 'schedule-1', url: 'http://127.0.10.25:8080/version' },
    ]);
    await fs.writeFile(
      path.join(dir, 'inventory.yml'),
      'cluster: lab-plain\nhosts:\n  node1: { address: 127.0.10.10 }\n',
    );
    await expect(labLoadTargets(dir)).rejects.toThrow(/serves no HTTP traffic/);
    await fs.rm(dir, { recursive: true });
    await expect(labLoadTargets(dir)).rejects.toThrow(/does not exist/);
  });
});
