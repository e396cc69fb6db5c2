/**
 * A load generator for upgrades in the lab: steady HTTP GETs to a few loopback targets, a new
 * connection per request (no keep-alive, so a drained or restarting node is noticed at once),
 * counting what failed (non-2xx/3xx, connection errors, timeouts) and the longest gap between
 * successful responses — the outage a user would have seen. Bounded: it stops by itself after
 * `durationMs`, each request has a deadline, and requests in flight per target are capped.
 * Example:
 *   const load = startLoad({ targets: [{ name: 'user', url: 'http://127.0.10.10/' }], ratePerSecond: 20, durationMs: 30_000 });
 *   ... upgrade ...
 *   const report = await load.stop(); // report.total.failed, report.total.longestGapMs
 */
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs/promises';
import { parse } from 'yaml';
import { UsageError } from '../src/errors.js';
import { formatDuration } from '../src/shared/duration.js';
import { labLayout } from './layout.js';

/** One URL under load. Example: `{ name: 'integration', url: 'http://127.0.10.11/async' }`. */
export interface LoadTarget {
  name: string;
  url: string;
}

/** Options of `startLoad`. Example: `{ targets, ratePerSecond: 20, durationMs: 30_000 }`. */
export interface LoadOptions {
  targets: readonly LoadTarget[];
  /** Requests per second to each target. */
  ratePerSecond: number;
  /** Stops by itself after this long. Default 60s; at most 1h. */
  durationMs?: number;
  /** A request that has not completed after this long fails as a timeout. Default 2s. */
  requestTimeoutMs?: number;
  /** Requests in flight per target; beyond it a due request fails as "not sent". Default 100. */
  maxInFlight?: number;
  /** How many failure reasons to keep per target (the first ones). Default 5. */
  failureSamples?: number;
}

/** One failed request. Example: `{ at: '2026-11-22T05:30:01.250Z', offsetMs: 1250, reason: 'HTTP 502' }`. */
export interface LoadFailure {
  at: string;
  /** Milliseconds since the load started. */
  offsetMs: number;
  reason: string;
}

/** Counts for one target (or all). Example: `{ sent: 600, ok: 596, failed: 4, longestGapMs: 350 }`. */
export interface LoadCounts {
  sent: number;
  ok: number;
  failed: number;
  /** Longest time without a successful response: between two successes, from the start to the first, or from the last to the end. */
  longestGapMs: number;
  /** When that gap began, in ms since the start. */
  longestGapStartMs: number;
}

/** The report of one target. Example: `{ name: 'user', url: 'http://127.0.10.10/', sent: 600, ..., failures: [...] }`. */
export interface TargetReport extends LoadCounts {
  name: string;
  url: string;
  /** The first `failureSamples` failures, in order. */
  failures: LoadFailure[];
}

/** What a load run saw. Example: `report.total.failed === 0` for an upgrade without errors. */
export interface LoadReport {
  startedAt: string;
  durationMs: number;
  ratePerSecond: number;
  targets: TargetReport[];
  /** All targets together; the gap is the longest time in which no target answered successfully. */
  total: LoadCounts;
}

/** A running load. Example: `const report = await handle.stop()`. */
export interface LoadHandle {
  /** Stops sending, waits for requests in flight (each bounded by its deadline), and reports. */
  stop(): Promise<LoadReport>;
  /** Resolves with the report when the load stopped by itself (or was stopped). */
  readonly done: Promise<LoadReport>;
  /** Counts so far, for progress lines. */
  snapshot(): LoadReport;
}

const MAX_DURATION_MS = 3_600_000;

/** True for 127.0.0.0/8, ::1 and localhost. Example: isLoopbackHost('127.0.10.10') -> true. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function checkOptions(opts: LoadOptions): URL[] {
  if (opts.targets.length === 0) throw new UsageError('load: no targets', 'Give at least one { name, url }.');
  if (!(opts.ratePerSecond > 0 && opts.ratePerSecond <= 1000)) {
    throw new UsageError(
      `load: rate ${opts.ratePerSecond} per second is out of range`,
      'Use a rate from 0.1 to 1000 requests per second per target.',
    );
  }
  const duration = opts.durationMs ?? 60_000;
  if (!(duration > 0 && duration <= MAX_DURATION_MS)) {
    throw new UsageError(`load: duration ${duration}ms is out of range`, 'Use a duration from 1ms to 1h.');
  }
  return opts.targets.map((t) => {
    let url: URL;
    try {
      url = new URL(t.url);
    } catch {
      throw new UsageError(`load: target ${t.name}: "${t.url}" is not a URL`, 'Example: http://127.0.10.10/');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`load: target ${t.name}: ${t.url} is not http(s)`, 'Example: http://127.0.10.10/');
    }
    if (!isLoopbackHost(url.hostname)) {
      throw new UsageError(
        `load: target ${t.name}: ${url.hostname} is not a loopback address; the lab's load generator only loads the lab`,
        'Use a 127.x.y.z address, ::1 or localhost.',
      );
    }
    return url;
  });
}

interface TargetState {
  target: LoadTarget;
  url: URL;
  sent: number;
  ok: number;
  failed: number;
  inFlight: number;
  failures: LoadFailure[];
  /** Completion times of successful responses, ms since start. */
  successes: number[];
}

/**
 * Starts sending load; see the module doc. Throws UsageError for a non-loopback target or a bad
 * rate/duration. Example: startLoad({ targets: [{ name: 'user', url: 'http://127.0.10.10/' }], ratePerSecond: 20 }).
 */
export function startLoad(opts: LoadOptions): LoadHandle {
  const urls = checkOptions(opts);
  const durationMs = opts.durationMs ?? 60_000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 2000;
  const maxInFlight = opts.maxInFlight ?? 100;
  const samples = opts.failureSamples ?? 5;
  const startedAt = new Date();
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  const states: TargetState[] = opts.targets.map((target, i) => ({
    target,
    url: urls[i]!,
    sent: 0,
    ok: 0,
    failed: 0,
    inFlight: 0,
    failures: [],
    successes: [],
  }));
  const maxRequests = Math.ceil((durationMs / 1000) * opts.ratePerSecond);
  let stoppedAt: number | undefined;
  let idle: (() => void) | undefined;

  const fail = (s: TargetState, reason: string) => {
    s.failed += 1;
    if (s.failures.length < samples) {
      const offsetMs = Math.round(elapsed());
      s.failures.push({ at: new Date(startedAt.getTime() + offsetMs).toISOString(), offsetMs, reason });
    }
  };

  const finished = (s: TargetState) => {
    s.inFlight -= 1;
    if (stoppedAt !== undefined && states.every((x) => x.inFlight === 0)) idle?.();
  };

  const send = (s: TargetState) => {
    s.sent += 1;
    if (s.inFlight >= maxInFlight) {
      fail(s, `not sent: ${maxInFlight} requests already in flight`);
      return;
    }
    s.inFlight += 1;
    let settled = false;
    const settle = (reason?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (reason === undefined) {
        s.ok += 1;
        s.successes.push(elapsed());
      } else {
        fail(s, reason);
      }
      finished(s);
    };
    const client = s.url.protocol === 'https:' ? https : http;
    const req = client.request(s.url, {
      method: 'GET',
      agent: false,
      headers: { Connection: 'close', 'User-Agent': `cutover-lab-load (${s.target.name})` },
      rejectUnauthorized: false,
    });
    const deadline = setTimeout(() => {
      settle(`timeout after ${requestTimeoutMs}ms`);
      req.destroy();
    }, requestTimeoutMs);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.on('end', () => settle(status >= 200 && status < 400 ? undefined : `HTTP ${status}`));
      res.on('error', (e) => settle(`response error: ${e.message}`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => settle(e.code ? `${e.code}: ${e.message}` : e.message));
    req.end();
  };

  const tick = () => {
    const now = elapsed();
    if (now >= durationMs) {
      void stop();
      return;
    }
    for (const s of states) {
      const due = Math.min(maxRequests, Math.floor((now / 1000) * opts.ratePerSecond) + 1);
      // After a stalled event loop, catch up a little at a time rather than in one burst.
      for (let n = 0; s.sent < due && n < 10; n++) send(s);
    }
  };

  const tickMs = Math.max(2, Math.min(50, Math.floor(1000 / opts.ratePerSecond / 2)));
  const timer = setInterval(tick, tickMs);
  tick();

  const report = (): LoadReport => {
    const end = stoppedAt ?? elapsed();
    const targets = states.map((s) => ({
      name: s.target.name,
      url: s.target.url,
      sent: s.sent,
      ok: s.ok,
      failed: s.failed,
      ...longestGap(s.successes, end),
      failures: [...s.failures],
    }));
    const all = states.flatMap((s) => s.successes).sort((a, b) => a - b);
    return {
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(end),
      ratePerSecond: opts.ratePerSecond,
      targets,
      total: {
        sent: targets.reduce((n, t) => n + t.sent, 0),
        ok: targets.reduce((n, t) => n + t.ok, 0),
        failed: targets.reduce((n, t) => n + t.failed, 0),
        ...longestGap(all, end),
      },
    };
  };

  let resolveDone!: (r: LoadReport) => void;
  const done = new Promise<LoadReport>((resolve) => {
    resolveDone = resolve;
  });
  let stopping: Promise<LoadReport> | undefined;
  const stop = (): Promise<LoadReport> => {
    if (!stopping) {
      clearInterval(timer);
      stoppedAt = elapsed();
      stopping = new Promise<void>((resolve) => {
        idle = resolve;
        if (states.every((s) => s.inFlight === 0)) resolve();
      }).then(() => {
        const r = report();
        resolveDone(r);
        return r;
      });
    }
    return stopping;
  };
  return { stop, done, snapshot: report };
}

function longestGap(
  successTimes: readonly number[],
  end: number,
): { longestGapMs: number; longestGapStartMs: number } {
  let previous = 0;
  let longest = 0;
  let start = 0;
  for (const t of [...successTimes, end]) {
    if (t - previous > longest) {
      longest = t - previous;
      start = previous;
    }
    previous = Math.max(previous, t);
  }
  return { longestGapMs: Math.round(longest), longestGapStartMs: Math.round(start) };
}

/**
 * The default targets of a lab, from its inventory: comindware — user traffic `/` to hosts with
 * role `web`, integration traffic `/async` to role `integration` (through each host's nginx);
 * ecsc — every host's service on port 8080 (host var `http_port`): `/<svc>/` of the Tomcat apps,
 * `/version` of the schedulers (their `/` is a 404).
 * Example: await labLoadTargets('.lab/comindware') -> [{ name: 'user', url: 'http://127.0.10.10/' }, { name: 'integration', url: 'http://127.0.10.11/async' }].
 */
export async function labLoadTargets(labDir: string): Promise<LoadTarget[]> {
  const layout = labLayout(labDir);
  const text = await fs.readFile(layout.inventory, 'utf8').catch(() => undefined);
  if (text === undefined) {
    throw new UsageError(
      `${layout.inventory} does not exist`,
      'Bring the lab up first: cutover lab up --scenario NAME.',
    );
  }
  const inv = parse(text) as {
    cluster?: string;
    hosts?: Record<string, { address: string; roles?: string[]; vars?: Record<string, unknown> }>;
  };
  const scenario = String(inv.cluster ?? '').replace(/^lab-/, '');
  const hosts = Object.entries(inv.hosts ?? {}).map(([name, h]) => ({
    name,
    ...h,
    roles: h.roles ?? [],
    vars: h.vars ?? {},
  }));
  const byRole = (role: string, name: string, pathname: string) => {
    const matching = hosts.filter((h) => h.roles.includes(role));
    return matching.map((h) => ({
      name: matching.length === 1 ? name : `${name}@${h.name}`,
      url: `http://${h.address}${pathname}`,
    }));
  };
  if (scenario === 'comindware')
    return [...byRole('web', 'user', '/'), ...byRole('integration', 'integration', '/async')];
  if (scenario === 'ecsc') {
    return hosts.map((h) => {
      const service = String(h.vars.service ?? h.roles[0] ?? '');
      // Tomcat answers 404 at `/` (no ROOT app): its page is the application's context; the
      // Spring Boot schedulers have no page and answer /version.
      const pathname = service === 'ecsc' || service === 'ecmc' ? `/${service}/` : '/version';
      return { name: h.name, url: `http://${h.address}:${Number(h.vars.http_port ?? 8080)}${pathname}` };
    });
  }
  throw new UsageError(
    `lab scenario "${scenario}" (${layout.inventory}) serves no HTTP traffic to load`,
    'Load the comindware or ecsc lab, or call startLoad() with your own targets.',
  );
}

/**
 * The report as a small table for people. Example:
 * formatLoadReport(report) -> 'target  sent  ok  failed  longest gap\nuser  600  600  0  120ms\n...'.
 */
export function formatLoadReport(report: LoadReport): string {
  const rows = [
    ['TARGET', 'URL', 'SENT', 'OK', 'FAILED', 'LONGEST GAP'],
    ...report.targets.map((t) => [
      t.name,
      t.url,
      String(t.sent),
      String(t.ok),
      String(t.failed),
      formatDuration(t.longestGapMs),
    ]),
    [
      'total',
      '',
      String(report.total.sent),
      String(report.total.ok),
      String(report.total.failed),
      formatDuration(report.total.longestGapMs),
    ],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  lines.unshift(
    `load for ${formatDuration(report.durationMs)} at ${report.ratePerSecond}/s per target, started ${report.startedAt}`,
  );
  for (const t of report.targets) {
    for (const f of t.failures)
      lines.push(`  ${t.name} +${formatDuration(f.offsetMs)} (${f.at}): ${f.reason}`);
    if (t.failed > t.failures.length)
      lines.push(`  ${t.name}: ... and ${t.failed - t.failures.length} more failures`);
  }
  return lines.join('\n');
}
