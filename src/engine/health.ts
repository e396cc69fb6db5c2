/**
 * A phase's health check (today the drain's: `drain.health`, a URL rendered for the host and the
 * statuses that mean "serving"). Asked before traffic goes back to a host, and when a rollback
 * verifies the hosts it put back; the health guard over upgraded hosts builds on the same probe.
 */
import { sendHttp, waitFor } from '../actions/index.js';
import type { Host } from '../inventory/model.js';
import { renderTemplate } from '../runbook/template.js';
import { staticValue } from '../shell/word.js';
import type { RunContext } from './context.js';

/** How long a host may take to answer its health check before traffic goes back to it. */
const HEALTH_TIMEOUT_MS = 5 * 60_000;
/** Between two probes of a host that is not healthy yet. */
const HEALTH_INTERVAL_MS = 250;
/** One probe's own timeout. */
const PROBE_TIMEOUT_MS = 5000;

/** A rendered health check. Example: `{ url: 'http://10.0.0.11:8080/login', expectStatus: [200] }`. */
export interface HealthCheck {
  url: string;
  expectStatus: number[];
}

/** The answer to one probe. */
export interface HealthAnswer {
  ok: boolean;
  /** The status, or the transport error. Example: `'503'`, `'ECONNREFUSED'`. */
  seen: string;
}

/** The phase's health check rendered for `host` (`neighbour` is the host itself), if the phase has one. */
export function healthCheckFor(run: RunContext, phaseId: string, host: Host): HealthCheck | undefined {
  const phase = run.plan.phases.find((p) => p.id === phaseId);
  const health = phase?.drain?.health ?? phase?.balancer?.health;
  return health ? renderHealth(run, health, host, host) : undefined;
}

/** A health check template rendered for `host` with `neighbour` in scope. */
export function renderHealth(
  run: RunContext,
  health: { url: string; expectStatus: number[] },
  host: Host,
  neighbour: Host,
): HealthCheck {
  const url = staticValue(renderTemplate(health.url, run.options.templateScope(host, neighbour)));
  return { url, expectStatus: health.expectStatus };
}

/** Probes once. Example: `(await probeHealth(check)).ok`. */
export async function probeHealth(check: HealthCheck, signal?: AbortSignal): Promise<HealthAnswer> {
  const res = await sendHttp(
    { url: check.url, method: 'GET', headers: {}, insecure: true },
    PROBE_TIMEOUT_MS,
    signal,
  );
  return { ok: check.expectStatus.includes(res.status), seen: `${res.error ?? res.status}` };
}

/**
 * Before traffic goes back to a host, its own instance must answer the phase's health check:
 * routing users to a node that is still starting would fail their requests. Resolves with
 * undefined once it answers (or when the phase has no check), else with why it is not healthy.
 */
export async function untilHealthy(
  run: RunContext,
  phaseId: string,
  hostName: string,
  /** The step (a drain) that waits: the wait is journaled on it, so the operator sees it. */
  waitingStep?: string,
): Promise<string | undefined> {
  const host = run.host(hostName);
  const check = host && healthCheckFor(run, phaseId, host);
  if (!check) return undefined;
  if (waitingStep) {
    const what = `${check.url} to answer ${check.expectStatus.join('/')} before traffic goes back to ${hostName}`;
    run.emit({ type: 'step.waiting', step: waitingStep, host: hostName, what });
  }
  let last = '';
  try {
    await waitFor(
      run.clock,
      {
        deadline: run.clock.now() + HEALTH_TIMEOUT_MS,
        intervalMs: HEALTH_INTERVAL_MS,
        what: `${check.url} before restoring traffic`,
      },
      async () => {
        const answer = await probeHealth(check);
        last = answer.seen;
        return { done: answer.ok };
      },
    );
    return undefined;
  } catch {
    return `${host.name} is not healthy: ${check.url} did not answer ${check.expectStatus.join('/')} within ${HEALTH_TIMEOUT_MS / 1000}s (last: ${last}); its traffic stays where it is. Fix the node, then run \`cutover rollback ${run.options.runId}\`.`;
  }
}
