/**
 * The live dashboard behind `cutover serve`: an HTTP server over the state folder. It tails every
 * run's journal, folds the events into RunViews, and pushes snapshots to browsers with
 * server-sent events. Approving a gate or aborting a run appends a request to the run's control
 * file, which the running `cutover apply` polls; the dashboard never touches a host itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { formatDuration } from '../../shared/duration.js';
import { ganttSvg } from '../gantt.js';
import { renderReport, summaryHtml } from '../report-html.js';
import { type HostView, isDrain, type RunView, RunViewBuilder, shortStep } from '../run-view.js';
import { dashboardPage } from './page.js';
import { type DashboardSource, folderSource } from './source.js';

/** Where and how to serve. Example: `{ stateDir: '.cutover', host: '127.0.0.1', port: 8717 }`. */
export interface DashboardOptions {
  stateDir: string;
  host: string;
  port: number;
  /** Required for a non-loopback bind; every request must then carry it. */
  token?: string;
  /** How often the state folder's journals are polled (ms). Default 250. */
  pollMs?: number;
  /** Where runs come from: default the state folder; `sharedSource(conn)` for every controller's runs. */
  source?: DashboardSource;
}

/** A running dashboard. Example: `const d = await startDashboard(opts); console.log(d.url); await d.close();`. */
export interface Dashboard {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Whether an address only this machine can reach. Example: `isLoopback('127.0.0.1')` -> true, `isLoopback('0.0.0.0')` -> false. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

interface Watched {
  builder: RunViewBuilder;
  /** Bumped on every new event; clients remember what they saw. */
  version: number;
}

interface Client {
  res: ServerResponse;
  run?: string;
  sentVersion: number;
  sentRunsVersion: number;
  sentAt: number;
  remote: string;
}

const RUN_ID = /^[A-Za-z0-9_.-]{1,100}$/;

/** Starts the dashboard server. Example: `await startDashboard({ stateDir: '.cutover', host: '127.0.0.1', port: 0 })`. */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  if (!isLoopback(opts.host) && !opts.token) {
    throw new Error(
      `refusing to serve on ${opts.host} without a token: anyone who can reach it could approve gates or abort runs`,
    );
  }
  const source = opts.source ?? folderSource(opts.stateDir, opts.pollMs);
  const runs = new Map<string, Watched>();
  const clients = new Set<Client>();
  let runsVersion = 0;
  let runsList: RunSummary[] = [];
  let listedAt = 0;

  const refresh = () => {
    let changed = false;
    for (const [id, events] of source.take()) {
      let w = runs.get(id);
      if (!w) {
        w = { builder: new RunViewBuilder(), version: 0 };
        runs.set(id, w);
      }
      for (const e of events) w.builder.add(e);
      w.version += 1;
      changed = true;
    }
    const now = Date.now();
    // Liveness comes from the lock or lease, not the journal: look again each second even without events.
    if (changed || now - listedAt >= 1000) {
      listedAt = now;
      const list = [...runs.values()]
        .filter((w) => w.builder.view)
        .map((w) => runSummary(w.builder.view as RunView, source))
        .sort((a, b) => b.startedAt - a.startedAt);
      if (JSON.stringify(list) !== JSON.stringify(runsList)) {
        runsList = list;
        runsVersion += 1;
      }
    }
    for (const c of clients) push(c, now);
  };

  const push = (c: Client, now: number) => {
    if (c.sentRunsVersion !== runsVersion) {
      sse(c.res, 'runs', runsList);
      c.sentRunsVersion = runsVersion;
    }
    if (!c.run) return;
    const w = runs.get(c.run);
    const view = w?.builder.view;
    if (!w || !view) return;
    // Open runs redraw each second for their clocks even without new events.
    if (c.sentVersion === w.version && !(view.open && now - c.sentAt >= 1000)) return;
    sse(c.res, 'view', snapshot(view, source, now));
    c.sentVersion = w.version;
    c.sentAt = now;
  };

  await source.start(refresh);
  // The clocks of open runs and liveness (a lease that expired) change without events.
  const clock = setInterval(refresh, 1000);
  clock.unref();
  const heartbeat = setInterval(() => {
    for (const c of clients) c.res.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();
  refresh();

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { error: `internal error: ${(e as Error).message}` });
      else res.end();
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    if (!hostAllowed(req, opts)) return send(res, 421, { error: 'unexpected Host header (DNS rebinding?)' });
    if (opts.token && !tokenMatches(req, url, opts.token))
      return send(res, 401, {
        error: 'missing or wrong token: open the URL cutover serve printed, with ?token=',
      });
    const remote = req.socket.remoteAddress ?? '?';

    if (req.method === 'GET' && url.pathname === '/') {
      res.setHeader(
        'Content-Security-Policy',
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'",
      );
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(dashboardPage());
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/runs') return send(res, 200, runsList);
    if (req.method === 'GET' && url.pathname === '/api/stream') {
      const run = url.searchParams.get('run') ?? undefined;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      res.write('retry: 1000\n\n');
      const client: Client = {
        res,
        ...(run && RUN_ID.test(run) ? { run } : {}),
        sentVersion: -1,
        sentRunsVersion: -1,
        sentAt: 0,
        remote,
      };
      clients.add(client);
      req.on('close', () => clients.delete(client));
      push(client, Date.now());
      return;
    }
    const m = /^\/api\/runs\/([^/]+)\/(gate|abort|report)$/.exec(url.pathname);
    if (m && RUN_ID.test(m[1] as string)) {
      const id = m[1] as string;
      const view = runs.get(id)?.builder.view;
      if (!view) return send(res, 404, { error: `no run ${id} in the ${source.where}` });
      if (m[2] === 'report' && req.method === 'GET') {
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.end(renderReport(await source.readAll(id)));
        return;
      }
      if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });
      const problem = postProblem(req);
      if (problem) return send(res, 403, { error: problem });
      const body = await readJson(req);
      const by = decider(body.by, remote);
      if (!source.isLive(view))
        return send(res, 409, {
          error: `run ${id} has no running controller (it finished, or cutover apply was stopped); nothing to ${m[2]}`,
        });
      if (m[2] === 'abort') {
        await source.send(id, { type: 'abort', by });
        return send(res, 202, { ok: true, message: 'abort requested; the run puts hosts in flight back' });
      }
      const gate = view.pendingGates.find(
        (g) => g.step === body.step && g.host === body.host && g.seq === body.gateSeq,
      );
      if (!gate || typeof body.approved !== 'boolean')
        return send(res, 409, {
          error: `no gate ${String(body.step)} pending on ${String(body.host)} (seq ${String(body.gateSeq)}): it was decided already, or the page is stale`,
        });
      await source.send(id, {
        type: 'gate',
        gateSeq: gate.seq,
        step: gate.step,
        host: gate.host,
        approved: body.approved,
        by,
      });
      return send(res, 202, {
        ok: true,
        message: `${body.approved ? 'approval' : 'decline'} sent to the run`,
      });
    }
    send(res, 404, { error: `no such page: ${url.pathname}` });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    close: async () => {
      clearInterval(clock);
      clearInterval(heartbeat);
      await source.close();
      for (const c of clients) c.res.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One run in the list. */
interface RunSummary {
  run: string;
  cluster: string;
  runbook: string;
  startedAt: number;
  outcome: string;
  live: boolean;
  pendingGates: number;
}

function runSummary(view: RunView, source: DashboardSource): RunSummary {
  const live = source.isLive(view);
  return {
    run: view.run,
    cluster: view.cluster,
    runbook: view.runbook,
    startedAt: view.startedAt,
    outcome: view.outcome ?? (live ? 'running' : view.open ? 'interrupted' : 'unknown'),
    live,
    pendingGates: view.pendingGates.length,
  };
}

/**
 * Who decided, as the journal records it: the name the person gave on the page (letters, digits,
 * `.@_-` and spaces, at most 64) and where from. Example: `decider('bob', '10.0.0.7')` -> 'bob via dashboard on lead-pc (10.0.0.7)'.
 */
export function decider(given: unknown, remote: string): string {
  const name =
    typeof given === 'string'
      ? given
          .replace(/[^\p{L}\p{N} .@_-]/gu, '')
          .trim()
          .slice(0, 64)
      : '';
  return name
    ? `${name} via dashboard on ${hostname()} (${remote})`
    : `dashboard on ${hostname()} (${remote})`;
}

function snapshot(view: RunView, source: DashboardSource, now: number) {
  const live = source.isLive(view);
  return {
    run: view.run,
    cluster: view.cluster,
    runbook: view.runbook,
    inventory: view.inventory,
    planHash: view.planHash,
    operator: view.operator,
    controller: view.controller,
    params: view.params,
    startedAt: new Date(view.startedAt).toISOString(),
    elapsed: formatDuration((view.finishedAt ?? (view.open ? now : view.lastEventAt)) - view.startedAt),
    outcome: view.outcome ?? (live ? 'running' : view.open ? 'interrupted' : 'unknown'),
    error: view.error,
    live,
    abort: view.abort ? { by: view.abort.by } : undefined,
    pendingGates: view.pendingGates,
    hosts: view.hosts.map((h) => ({
      name: h.name,
      status: h.status,
      line: hostLine(h, now),
      done: h.done,
      failed: h.failed,
      undone: h.undone,
      total: h.total,
      steps: [...view.state.steps.values()]
        .filter((s) => s.host === h.name && !isDrain(s))
        .map((s) => ({ id: s.id, short: shortStep(s.id), status: s.status })),
      log: h.log.slice(-80),
    })),
    gantt: ganttSvg(view, { now }),
    summary: summaryHtml(view, now),
  };
}

/** The host's line, as on the terminal. */
function hostLine(h: HostView, now: number): string {
  const cur = h.current;
  if (h.status === 'running' && cur) {
    if (cur.undoing) return `undoing ${cur.short} · ${formatDuration(now - cur.since)}`;
    let text = `${cur.short} [${cur.kind}] · ${formatDuration(now - cur.since)}`;
    if (cur.gate) text += ` · waiting for approval: ${cur.gate}`;
    else if (cur.waiting) {
      text += ` · waiting for ${cur.waiting.what}`;
      if (cur.waiting.lastLine !== undefined) text += ` · last: ${cur.waiting.lastLine}`;
    }
    return text;
  }
  switch (h.status) {
    case 'pending':
      return 'waiting for its turn';
    case 'idle':
      return `phase ${h.phase ?? ''} done; next phase later`;
    case 'succeeded':
      return `done${h.firstStart !== undefined && h.lastEnd !== undefined ? ` in ${formatDuration(h.lastEnd - h.firstStart)}` : ''}`;
    case 'not-reached':
      return 'not reached';
    case 'stopped':
      return 'stopped before its later phases';
    default:
      return `${h.status}${h.undone ? ` (${h.undone} undone)` : ''}`;
  }
}

function sse(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function tokenMatches(req: IncomingMessage, url: URL, token: string): boolean {
  const auth = req.headers.authorization;
  const given = auth?.startsWith('Bearer ') ? auth.slice(7) : (url.searchParams.get('token') ?? '');
  // Equal-length digests: the comparison takes the same time whatever the guess.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** On loopback, a page from another site could reach us through DNS rebinding: only our own names pass. */
function hostAllowed(req: IncomingMessage, opts: DashboardOptions): boolean {
  if (!isLoopback(opts.host)) return true; // A token guards non-loopback binds.
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return isLoopback(host);
}

/** State changes come only from our page: JSON bodies (a cross-site form cannot send them) and our own origin. */
function postProblem(req: IncomingMessage): string | undefined {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
    return 'state changes need Content-Type: application/json';
  const origin = req.headers.origin;
  if (origin && origin !== `http://${req.headers.host}`) return `cross-origin request from ${origin} refused`;
  return undefined;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
