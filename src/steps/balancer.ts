/**
 * Traffic taken out of rotation at load balancers in front of a host: the drain step of a phase
 * with `balancer:`. Its commands run on each balancer (actions with `on`), while the step belongs
 * to the host being upgraded: its journal entries, budget and undo are that host's.
 * - `haproxy.drain`: HAProxy's runtime API over its admin socket (socat): the server must exist and
 *   another server of its backend be UP; `state drain`, wait until its current sessions are 0, then
 *   `state maint`. The undo sets `state ready` (unless it was already out of rotation before) and
 *   waits until `show stat` says UP again.
 * - `nginx.upstream`: an nginx balancer: the host's server marked `down` in its upstream, reload; the undo
 *   removes exactly that mark (edits of one file are serialised; see actions/edit.ts).
 * - `balancer.commands`: the operator's drain / drained / undrain / ready commands, for anything else.
 */
import { z } from 'zod';
import { type Command, lines, raw, script, sh } from '../shell/command.js';
import type { Action } from './kind.js';
import { defineKind } from './kind.js';
import { reloadInEffect } from './nginx-route.js';
import { scriptText, word } from './params.js';
import { hostPath, recorded, stepDir } from './support.js';

const balancers = z
  .array(z.string().min(1))
  .describe('the inventory names of the balancers in front of the host; every one is updated');

const haproxyParams = z
  .object({
    balancers: balancers.min(1),
    socket: word.describe("the balancer's admin socket, e.g. /run/haproxy/admin.sock"),
    backend: word.describe('the backend holding the host'),
    server: word.describe('the server name of the host in that backend'),
  })
  .strict();
type HaproxyParams = z.output<typeof haproxyParams>;

/** One runtime API command to the admin socket, its answer on stdout. The one way this file talks to HAProxy. */
function haproxyApi(socket: HaproxyParams['socket'], command: Command): Command {
  return sh`printf '%s\\n' "$(${command})" | socat -t 5 stdio unix-connect:${socket}`;
}

/** `show stat` into $st (CSV: 1 pxname, 2 svname, 5 scur, 18 status), failing clearly when it cannot be had. */
function showStat(p: HaproxyParams): Command {
  return lines(
    raw(
      `command -v socat >/dev/null 2>&1 || { echo 'socat is not installed on this balancer: apt-get install socat' >&2; exit 2; }`,
    ),
    sh`st=$(${haproxyApi(p.socket, sh`echo 'show stat'`)} 2>&1) || { echo "the HAProxy admin socket "${p.socket}" does not answer: $st" >&2; exit 2; }`,
    sh`b=${p.backend}; v=${p.server}`,
    raw(
      `printf '%s\\n' "$st" | awk -F, -v b="$b" -v v="$v" '$1 == b && $2 == v { f = 1 } END { exit !f }' || { echo "HAProxy has no server $v in backend $b; its backends: $(printf '%s\\n' "$st" | awk -F, '$2 == "BACKEND" { printf "%s ", $1 }')" >&2; exit 3; }`,
    ),
  );
}

/** `haproxy.check`: the preflight of a phase with `balancer.haproxy`: each balancer's socket answers and knows the server. */
export const haproxyCheck = defineKind({
  name: 'haproxy.check',
  summary:
    'Check (read-only) that each HAProxy balancer answers on its admin socket and has the server in the backend.',
  params: haproxyParams,
  readOnly: true,
  intent: (p) => ({
    does: `on ${p.balancers.join(', ')}: ${String(p.backend)}/${String(p.server)} is known`,
  }),
  plan(p) {
    return {
      actions: p.balancers.map((on) => ({
        type: 'exec' as const,
        on,
        description: `${String(p.backend)}/${String(p.server)} on ${on}`,
        // Before anything changes: the balancer answers, knows the server, and could do without it.
        cmd: lines(showStat(p), othersUp()),
      })),
    };
  },
});

/** Fails (exit 4) unless another server of the backend is UP: taking this one out must leave the backend serving. */
function othersUp(): Command {
  return lines(
    raw(
      `others=$(printf '%s\\n' "$st" | awk -F, -v b="$b" -v v="$v" '$1 == b && $2 != v && $2 != "BACKEND" && $2 != "FRONTEND" && $18 ~ /^UP/ { n++ } END { print n + 0 }')`,
    ),
    raw(
      `[ "$others" -gt 0 ] || { echo "no other server of backend $b is UP on this balancer: taking $v out would leave the backend without a server" >&2; exit 4; }`,
    ),
  );
}

/** A key for a balancer in outputs: `was_lb-1`. */
const wasKey = (balancer: string) => `was_${balancer.replace(/[^A-Za-z0-9_.-]/g, '_')}`;

export const haproxyDrain = defineKind({
  name: 'haproxy.drain',
  summary:
    'Take a server out of rotation on HAProxy balancers (runtime API): drain, wait until its sessions end, maint. The undo puts it back (ready) and waits until it is UP.',
  params: haproxyParams,
  intent: (p) => ({
    does: `on ${p.balancers.join(', ')}: ${String(p.backend)}/${String(p.server)} drain, wait for 0 sessions, maint`,
    undo: 'state ready, wait until UP (unless it was out of rotation before)',
  }),
  rerunSafe: true,
  plan(p) {
    const actions: Action[] = [];
    for (const on of p.balancers) {
      actions.push(
        {
          type: 'exec',
          on,
          description: `check ${String(p.backend)}/${String(p.server)} on ${on}, then drain`,
          capture: { keyValues: true },
          cmd: lines(
            showStat(p),
            othersUp(),
            raw(
              `was=$(printf '%s\\n' "$st" | awk -F, -v b="$b" -v v="$v" '$1 == b && $2 == v { print $18 }')`,
            ),
            sh`echo ${wasKey(on)}="$was"`,
            haproxyApi(p.socket, sh`printf 'set server %s/%s state drain' "$b" "$v"`),
          ),
        },
        {
          type: 'wait',
          on,
          condition: {
            kind: 'command',
            description: `${String(p.backend)}/${String(p.server)} has no sessions left on ${on}`,
            cmd: lines(
              showStat(p),
              raw(
                `printf '%s\\n' "$st" | awk -F, -v b="$b" -v v="$v" '$1 == b && $2 == v { exit ($5 != 0) }'`,
              ),
            ),
          },
        },
        {
          type: 'exec',
          on,
          description: `maint on ${on}`,
          cmd: lines(showStat(p), haproxyApi(p.socket, sh`printf 'set server %s/%s state maint' "$b" "$v"`)),
        },
      );
    }
    return { actions };
  },
  compensate(p, outputs) {
    const actions: Action[] = [];
    for (const on of [...p.balancers].reverse()) {
      const was = outputs[wasKey(on)];
      // Drained before by someone else: it stays as it was found.
      if (was === undefined || /^(MAINT|DRAIN)/.test(was)) continue;
      actions.push(
        {
          type: 'exec',
          on,
          description: `ready on ${on}`,
          cmd: lines(showStat(p), haproxyApi(p.socket, sh`printf 'set server %s/%s state ready' "$b" "$v"`)),
        },
        {
          type: 'wait',
          on,
          condition: {
            kind: 'command',
            description: `${String(p.backend)}/${String(p.server)} is UP on ${on}`,
            cmd: lines(
              showStat(p),
              raw(
                `printf '%s\\n' "$st" | awk -F, -v b="$b" -v v="$v" '$1 == b && $2 == v { exit ($18 !~ /^UP/) }'`,
              ),
            ),
          },
        },
      );
    }
    return actions;
  },
});

const commandsParams = z
  .object({
    balancers: balancers.describe('where the commands run; empty: on the host itself'),
    // Plain scriptText (a describe() would hide that they are scripts, and values in them would not be quoted).
    drain: scriptText,
    drained: scriptText,
    undrain: scriptText,
    ready: scriptText.optional().describe('exits 0 once the host takes traffic again'),
  })
  .strict();

export const balancerCommands = defineKind({
  name: 'balancer.commands',
  summary:
    "Take a host out of rotation with the operator's commands (on each balancer): drain, then wait until drained. The undo runs undrain, then waits until ready.",
  params: commandsParams,
  intent: (p) => ({
    does: `${p.balancers.length ? `on ${p.balancers.join(', ')}: ` : ''}run the drain command, wait until drained`,
    undo: `run the undrain command${p.ready ? ', wait until ready' : ''}`,
  }),
  rerunSafe: true,
  plan(p) {
    const actions: Action[] = [];
    for (const on of p.balancers.length ? p.balancers : [undefined]) {
      const where = on ? { on } : {};
      actions.push(
        {
          type: 'exec',
          ...where,
          description: 'drain',
          // Recorded, so the undo runs only where the drain command ran.
          cmd: lines(script(p.drain), sh`echo ${`drained_${on ?? 'self'}`}=1`),
          capture: { keyValues: true },
        },
        {
          type: 'wait',
          ...where,
          condition: {
            kind: 'command',
            cmd: script(p.drained),
            description: 'the host gets no more traffic',
          },
        },
      );
    }
    return { actions };
  },
  compensate(p, outputs) {
    const actions: Action[] = [];
    for (const on of p.balancers.length ? [...p.balancers].reverse() : [undefined]) {
      if (outputs[`drained_${on ?? 'self'}`] === undefined) continue;
      const where = on ? { on } : {};
      actions.push({ type: 'exec', ...where, description: 'undrain', cmd: script(p.undrain) });
      if (p.ready)
        actions.push({
          type: 'wait',
          ...where,
          condition: { kind: 'command', cmd: script(p.ready), description: 'the host takes traffic again' },
        });
    }
    return actions;
  },
});

const nginxParams = z
  .object({
    balancers: balancers.min(1),
    config: hostPath.describe(
      "the balancer's nginx file holding the upstream, e.g. /etc/nginx/conf.d/lb.conf",
    ),
    upstream: z.string().min(1).describe('the upstream block, e.g. app'),
    server: z.string().min(1).describe('the server as written in it, e.g. 10.0.0.11:8080'),
    validate: scriptText.default('nginx -t'),
    reload: scriptText.default('nginx -s reload'),
  })
  .strict();

/** `nginx.upstream`: on each nginx balancer, mark the host's server `down` in its upstream, nginx -t, reload; the undo restores the file byte-identical. */
export const nginxUpstream = defineKind({
  name: 'nginx.upstream',
  summary:
    "Take a server out of an nginx balancer's upstream (on each balancer): mark it down, validate, reload, and wait until the old workers finished their requests. The undo takes exactly that mark away again (other hosts' drains may share the file), validates and reloads.",
  params: nginxParams,
  intent: (p) => ({
    does: `on ${p.balancers.join(', ')}: server ${p.server} of upstream ${p.upstream} down in ${String(p.config)}, nginx -t, reload`,
    undo: 'take the down mark away again (only that), nginx -t, reload',
  }),
  rerunSafe: true,
  plan(p, ctx) {
    const actions: Action[] = [];
    for (const on of p.balancers)
      actions.push(
        {
          type: 'edit',
          on,
          path: p.config,
          spec: { editor: 'nginx-upstream', upstream: p.upstream, server: p.server, down: true },
          backupPath: `${stepDir(ctx)}/${on}.original`,
          validate: script(p.validate),
        },
        // The old workers end once their requests are answered: then nothing runs on the host any more.
        { type: 'exec', on, cmd: reloadInEffect(script(p.reload)), description: `reload nginx on ${on}` },
      );
    return { actions };
  },
  compensate(p, outputs, ctx) {
    // The inverse edit, not the backup: other hosts' drains may have changed the same file since.
    const actions: Action[] = [];
    for (const on of [...p.balancers].reverse()) {
      if (recorded(outputs, `backup_${on}`) === undefined) continue;
      actions.push(
        {
          type: 'edit',
          on,
          path: recorded(outputs, `path_${on}`) ?? p.config,
          spec: { editor: 'nginx-upstream', upstream: p.upstream, server: p.server, down: false },
          backupPath: `${stepDir(ctx)}/${on}.before-undo`,
          validate: script(p.validate),
        },
        { type: 'exec', on, cmd: reloadInEffect(script(p.reload)), description: `reload nginx on ${on}` },
      );
    }
    return actions;
  },
});
