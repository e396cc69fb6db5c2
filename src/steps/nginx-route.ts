import { z } from 'zod';
import { type Command, lines, raw, script, subshell } from '../shell/command.js';
import { defineKind } from './kind.js';
import { scriptText } from './params.js';
import { hostPath, recorded, restoreOriginal, stepDir } from './support.js';

const params = z
  .object({
    config: hostPath.describe(
      'absolute path of the nginx file holding the locations, e.g. /etc/nginx/sites-enabled/comindwarecmw',
    ),
    locations: z
      .array(
        z
          .string()
          .regex(
            /^(?:(?:=|~\*?|\^~)\s+)?\S+$/,
            'expected a location as written after `location`, e.g. /async or = /login',
          ),
      )
      .min(1)
      .describe("the locations to re-point, as written after `location`, e.g. ['/async', '/']"),
    upstream: z
      .string()
      .regex(/^https?:\/\/[^\s;{}'"]+$/, 'expected an upstream URL such as http://127.0.10.12:8080')
      .describe('where their proxy_pass should send requests, e.g. http://10.0.0.12:8080'),
    validate: scriptText
      .default('nginx -t')
      .describe('checks the edited configuration; on failure the original is put back (default nginx -t)'),
    reload: scriptText
      .default('nginx -s reload')
      .describe(
        'applies the configuration (default nginx -s reload); cutover then waits until the old workers stop taking connections',
      ),
  })
  .strict();

/**
 * The reload, then a wait until nginx really serves the new configuration: `nginx -s reload` only
 * signals the master, and until the master has told its old workers to stop they take new
 * connections with the old routes. So: the workers before (pid:master), the reload, then until
 * every old worker of one master has exited or is "… is shutting down" — the master that reloaded;
 * other nginx masters on the host are left out that way. 10 s at most, then a clear failure.
 */
export function reloadInEffect(reload: Command): Command {
  return lines(
    raw(
      `nginx_workers() { ps -eo pid=,ppid=,args= | awk '$3 == "nginx:" && $4 == "worker" && $5 == "process" && NF == 5 { print $1 ":" $2 }'; }`,
    ),
    raw('old=$(nginx_workers)'),
    subshell(reload),
    raw('rc=$?; [ "$rc" -eq 0 ] || exit "$rc"'),
    raw('[ -n "$old" ] || exit 0'),
    raw('i=0'),
    raw('while :; do'),
    raw(String.raw`  now=" $(nginx_workers | tr '\n' ' ')"`),
    raw(String.raw`  for m in $(printf '%s\n' $old | cut -d: -f2 | sort -u); do`),
    raw(
      `    left=$(for w in $old; do [ "$` +
        `{w#*:}" = "$m" ] && case "$now " in *" $w "*) printf ' %s' "$` +
        `{w%:*}" ;; esac; done)`,
    ),
    raw('    [ -z "$left" ] && exit 0'),
    raw('  done'),
    raw('  [ "$i" -ge 200 ] && break'),
    raw('  sleep 0.05 2>/dev/null || sleep 1; i=$((i + 1))'),
    raw('done'),
    raw(
      `printf 'nginx.route: nginx still serves the old configuration 10s after the reload (old workers take new connections)\\n' >&2`,
    ),
    raw('exit 1'),
  );
}

/**
 * `nginx.route`: points the `proxy_pass` of the given locations at another upstream (the
 * engine edits the file, validates it and restores it if validation fails), then reloads.
 * The undo restores the file byte-identical, validates and reloads. The engine's traffic drain uses it.
 * Example: `{ config: '/etc/nginx/sites-enabled/comindwarecmw', locations: ['/async', '/'], upstream: 'http://10.0.0.12:8080' }`.
 */
export const nginxRoute = defineKind({
  name: 'nginx.route',
  summary:
    'Point the proxy_pass of some nginx locations at another upstream: edit, validate (nginx -t; the original is put back on failure), reload. The undo restores the file byte-identical, validates and reloads.',
  params,
  intent: (p) => ({
    does: `route ${p.locations.join(', ')} in ${String(p.config)} to ${String(p.upstream)}, nginx -t, reload`,
    undo: 'restore the file byte-identical, nginx -t, reload',
  }),
  rerunSafe: true,
  plan(p, ctx) {
    return {
      actions: [
        {
          type: 'edit',
          path: p.config,
          spec: { editor: 'nginx', locations: p.locations, upstream: p.upstream },
          backupPath: `${stepDir(ctx)}/original`,
          validate: script(p.validate),
        },
        { type: 'exec', cmd: reloadInEffect(script(p.reload)), description: 'reload nginx' },
      ],
    };
  },
  compensate(p, outputs) {
    const backup = recorded(outputs, 'backup');
    if (backup === undefined) return [];
    return [
      {
        type: 'exec',
        cmd: restoreOriginal('nginx.route', backup, recorded(outputs, 'path') ?? p.config),
        description: 'restore the original file',
      },
      { type: 'exec', cmd: script(p.validate), description: 'validate' },
      { type: 'exec', cmd: reloadInEffect(script(p.reload)), description: 'reload nginx' },
    ];
  },
});
