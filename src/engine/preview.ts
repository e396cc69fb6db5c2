import type { Host } from '../inventory/model.js';
import { stepContext } from '../plan/render.js';
import { allSteps, type Plan } from '../plan/types.js';
import { sh } from '../shell/command.js';
import type { Redactor } from '../shell/secret.js';
import { isStatic, staticValue } from '../shell/word.js';
import { applyEdit, unifiedDiff } from '../steps/edits/index.js';
import { stepKinds } from '../steps/index.js';
import type { StepKind } from '../steps/kind.js';
import type { Session } from '../transport/transport.js';

/**
 * `plan --probe`: asks every host, read-only, what each step would change right now — each
 * probe's verdict and the diff of every file edit — so the plan shows effects, not only
 * commands. Later steps see the hosts as they are now, not as earlier steps will leave them.
 * Example: `const findings = await previewPlan(plan, connect, redactor)`.
 */
export async function previewPlan(
  plan: Plan,
  connect: (host: Host, runAs?: string) => Promise<Session>,
  redactor: Redactor,
): Promise<Map<string, string[]>> {
  const findings = new Map<string, string[]>();
  const steps = allSteps(plan);
  await Promise.all(
    plan.hosts.map(async (host) => {
      // Each step is probed as the user it will run as (one session per sudo user, as in a run).
      const sessions = new Map<string, Promise<Session>>();
      for (const step of steps.filter((s) => s.host === host.name)) {
        const key = step.runAs ?? '';
        if (!sessions.has(key)) sessions.set(key, connect(host, step.runAs));
        let session: Session;
        try {
          session = await (sessions.get(key) as Promise<Session>);
        } catch (e) {
          findings.set(step.id, [`cannot probe: ${(e as Error).message}`]);
          continue;
        }
        const kind = stepKinds.get(step.kind) as StepKind<unknown>;
        const planned = kind.plan(step.params, stepContext(plan, step));
        const lines: string[] = [];
        // A file edit's diff below says what it would change; the probe only knows whether this step ran.
        if (planned.probe && !planned.actions.some((a) => a.type === 'edit')) {
          const res = await session.exec(planned.probe.cmd.render('exec'), { timeoutMs: 30_000 });
          if (res.code === 0) lines.push(`already done (${planned.probe.description})`);
          else if (res.code === 1) lines.push('will change');
          else
            lines.push(
              `cannot tell (probe exit ${res.code}${res.stderr.trim() ? `: ${res.stderr.trim().split('\n').at(-1)}` : ''})`,
            );
        }
        for (const action of planned.actions) {
          if (action.type !== 'edit') continue;
          const named = isStatic(action.path)
            ? staticValue(action.path, true)
            : (await session.exec(sh`printf '%s' ${action.path}`.render('exec'))).stdout;
          const real =
            (await session.exec(sh`readlink -f -- ${named}`.render('exec'))).stdout.trim() || named;
          let before: string;
          try {
            before = (await session.get(real)).toString('utf8');
          } catch (e) {
            lines.push(`cannot read ${named}: ${(e as Error).message}`);
            continue;
          }
          try {
            const after = applyEdit(before, action.spec);
            if (after === before) lines.push(`${named} is already as wanted`);
            else lines.push(...unifiedDiff(before, after, named).trimEnd().split('\n'));
          } catch (e) {
            lines.push(`the edit would fail: ${(e as Error).message}`);
          }
        }
        if (lines.length)
          findings.set(
            step.id,
            lines.map((l) => redactor.redact(l)),
          );
      }
    }),
  );
  return findings;
}
