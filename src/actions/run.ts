/** The action interpreter: runs the actions a step kind planned, one after another, on one host. */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { statusList } from '../shared/format.js';
import type { Action } from '../steps/kind.js';
import { runEdit } from './edit.js';
import { ActionFailed, type ActionEnv, execOnHost, failure, remaining, resolveWord } from './env.js';
import { sendHttp } from './http.js';
import { runWait } from './waits.js';

/** Runs one planned action on the step's host. Example: `for (const a of kind.plan(params, ctx).actions) await runAction(a, env)`. */
export async function runAction(action: Action, env: ActionEnv): Promise<void> {
  if ((action.type === 'exec' || action.type === 'wait' || action.type === 'edit') && action.on !== undefined)
    env = await onHost(action.on, env);
  switch (action.type) {
    case 'exec':
      return runExec(action, env);
    case 'put':
      return runPut(action, env);
    case 'edit':
      return runEdit(action, env);
    case 'wait':
      return runWait(action.condition, action.intervalMs ?? env.pollIntervalMs, env);
    case 'http':
      return runHttp(action, env);
    case 'confirm': {
      env.emit({ type: 'gate.pending', step: env.stepId, host: env.host, message: action.message });
      const approved = await env.approveGate({ step: env.stepId, host: env.host, message: action.message });
      if (!approved) throw new ActionFailed(`gate not approved: ${action.message}`);
      return;
    }
  }
}

/** The env of an action that runs on another host (a balancer): that host's session, the same step and journal. */
async function onHost(host: string, env: ActionEnv): Promise<ActionEnv> {
  if (!env.sessionOn)
    throw new ActionFailed(`this step must run a command on ${host}, and no session to it is open`);
  return { ...env, session: await env.sessionOn(host) };
}

async function runExec(action: Extract<Action, { type: 'exec' }>, env: ActionEnv): Promise<void> {
  const res = await execOnHost(action.cmd, env);
  const ok = action.okCodes ?? [0];
  if (res.timedOut) throw new ActionFailed(`${what(action)} timed out`, failure(action.cmd, res));
  if (!ok.includes(res.code)) {
    const detail = failure(action.cmd, res);
    const lines = detail.stderrTail.split('\n').filter(Boolean);
    const last = lines.at(-1);
    // The whole tail goes to the journal too, so progress and `status` show e.g. which processes matched.
    throw new ActionFailed(`${what(action)} exited ${res.code}${last ? `: ${last}` : ''}`, {
      ...detail,
      ...(lines.length > 1 ? { lastLines: lines } : {}),
    });
  }
  if (action.capture && 'as' in action.capture)
    env.outputs[action.capture.as] = env.redactor.redact(res.stdout.trim());
  if (action.capture && 'keyValues' in action.capture) {
    for (const line of res.stdout.split('\n')) {
      const m = /^([A-Za-z0-9_.-]+)=(.*)$/.exec(line.trim());
      if (m) env.outputs[m[1] as string] = env.redactor.redact(m[2] as string);
    }
  }
}

/** A short name for a command in messages; the full text is in the journal's step.command event. */
function what(action: Extract<Action, { type: 'exec' }>): string {
  if (action.description) return action.description;
  const text = String(action.cmd).replace(/\s+/g, ' ');
  return `command \`${text.length > 80 ? `${text.slice(0, 77)}...` : text}\``;
}

async function runPut(action: Extract<Action, { type: 'put' }>, env: ActionEnv): Promise<void> {
  const local = isAbsolute(action.localPath)
    ? action.localPath
    : resolve(env.ctx.controllerDir, action.localPath);
  const remotePath = await resolveWord(action.remotePath, env);
  // The run's own copy (taken when it started) when there is one: edits to the file since do not count.
  const data = readFileSync(env.localCopy?.(local) ?? local);
  env.emit({
    type: 'step.command',
    step: env.stepId,
    host: env.host,
    command: `put ${local} -> ${remotePath}`,
  });
  const { sha256 } = await env.session.put(data, remotePath, action.mode ? { mode: action.mode } : {});
  const expected = env.ctx.localSha256[local] ?? env.ctx.localSha256[action.localPath];
  if (expected && expected !== sha256) {
    throw new ActionFailed(
      `${local} changed since the plan was made (plan sha256 ${expected}, uploaded ${sha256})`,
    );
  }
  env.outputs.sha256 = sha256;
  env.outputs.path = remotePath;
}

async function runHttp(action: Extract<Action, { type: 'http' }>, env: ActionEnv): Promise<void> {
  env.emit({
    type: 'step.command',
    step: env.stepId,
    host: env.host,
    command: `${action.request.method} ${action.request.url}`,
  });
  const res = await sendHttp(action.request, Math.min(remaining(env), 30_000), env.signal);
  if (!action.expectStatus.includes(res.status)) {
    throw new ActionFailed(
      `${action.request.method} ${action.request.url} answered ${res.error ?? res.status}, expected ${statusList(action.expectStatus)}`,
      { lastLines: res.body.split('\n').slice(0, 5) },
    );
  }
  if (action.capture) env.outputs[action.capture] = env.redactor.redact(res.body.trim().slice(0, 4096));
}
