import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { raw } from '../shell/command.js';
import { nginxRoute, reloadInEffect } from './nginx-route.js';
import { commandsOf, runForReal, SHELLS, tempDir, testContext } from './test-support.js';

const ctx = testContext();
const DIR = '/var/tmp/cutover/r1/upgrade_step_web';
const CONF = '/etc/nginx/sites-enabled/comindwarecmw';

describe('nginx.route', () => {
  it('edits the locations with validation, then reloads', () => {
    const p = nginxRoute.params.parse({
      config: CONF,
      locations: ['/async', '/'],
      upstream: 'http://10.0.0.12:8080',
    });
    const [edit, reload] = nginxRoute.plan(p, ctx).actions;
    expect(edit).toMatchObject({
      type: 'edit',
      path: CONF,
      spec: { editor: 'nginx', locations: ['/async', '/'], upstream: 'http://10.0.0.12:8080' },
      backupPath: `${DIR}/original`,
    });
    expect(edit?.type === 'edit' && String(edit.validate)).toBe('nginx -t');
    expect(reload?.type === 'exec' && String(reload.cmd)).toContain('\n(\n  nginx -s reload\n)\n');
    expect(reload?.type === 'exec' && String(reload.cmd)).toContain('old=$(nginx_workers)');
  });

  it('takes custom validate and reload scripts', () => {
    const p = nginxRoute.params.parse({
      config: CONF,
      locations: ['= /login'],
      upstream: 'https://127.0.10.11:8443',
      validate: 'nginx -t -c /etc/nginx/nginx.conf',
      reload: 'systemctl reload nginx',
    });
    const [edit, reload] = nginxRoute.plan(p, ctx).actions;
    expect(edit?.type === 'edit' && String(edit.validate)).toBe('nginx -t -c /etc/nginx/nginx.conf');
    expect(reload?.type === 'exec' && String(reload.cmd)).toContain('\n(\n  systemctl reload nginx\n)\n');
  });

  it('undoes: restore byte-identical, validate, reload; nothing without a backup', () => {
    const p = nginxRoute.params.parse({ config: CONF, locations: ['/'], upstream: 'http://10.0.0.12:8080' });
    expect(commandsOf(nginxRoute.compensate!(p, { backup: `${DIR}/original`, path: CONF }, ctx))).toEqual([
      [
        `b=${DIR}/original`,
        `f=${CONF}`,
        'if [ ! -e "$b" ]; then',
        `  printf '%s undo: the original %s is gone; %s was left as it is\\n' nginx.route "$b" "$f" >&2`,
        '  exit 1',
        'fi',
        't=$(readlink -f -- "$f") || t=$f',
        'cp -p -- "$b" "$t.cutover-undo" && mv -f -T -- "$t.cutover-undo" "$t"',
      ].join('\n'),
      'nginx -t',
      String(reloadInEffect(raw('nginx -s reload'))),
    ]);
    expect(nginxRoute.compensate!(p, { upstream: 'http://x' }, ctx)).toEqual([]);
  });

  it('refuses upstreams and locations that would break the file', () => {
    const base = { config: CONF, locations: ['/'] };
    expect(() => nginxRoute.params.parse({ ...base, upstream: "http://x; touch /tmp/pwned'" })).toThrow(
      /upstream URL/,
    );
    expect(() => nginxRoute.params.parse({ ...base, upstream: '10.0.0.12:8080' })).toThrow(/upstream URL/);
    expect(() => nginxRoute.params.parse({ ...base, locations: ['/ { }'], upstream: 'http://x:1' })).toThrow(
      /location/,
    );
    expect(() => nginxRoute.params.parse({ ...base, locations: [], upstream: 'http://x:1' })).toThrow();
  });
});

/** A real nginx on 127.0.0.1 (its own prefix, pid file and port), answering `text` at /. */
async function realNginx() {
  const t = tempDir();
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const conf = `${t.path}/nginx.conf`;
  const write = (text: string) =>
    writeFileSync(
      conf,
      `worker_processes 2;\npid ${t.path}/nginx.pid;\nerror_log ${t.path}/error.log;\nevents {}\nhttp { access_log off; server { listen 127.0.0.1:${port}; location / { return 200 "${text}"; } } }\n`,
    );
  write('one');
  const nginx = (...args: string[]) =>
    execFileSync('nginx', ['-p', t.path, '-c', conf, ...args], { stdio: 'pipe' });
  nginx();
  return {
    write,
    reload: `nginx -p ${t.path} -c ${conf} -s reload`,
    get: async () => (await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })).text(),
    stop: () => {
      nginx('-s', 'stop');
      t.remove();
    },
  };
}

describe('nginx.route: the reload is in effect before the step ends (real nginx)', () => {
  const stops: (() => void)[] = [];
  afterAll(() => {
    for (const stop of stops) stop();
  });

  it.each(SHELLS)('under %s: the first request after it sees the new configuration', async (shell) => {
    const n = await realNginx();
    stops.push(n.stop);
    expect(await n.get()).toBe('one');
    for (const text of ['two', 'three', 'four']) {
      n.write(text);
      const r = runForReal(reloadInEffect(raw(n.reload)), {}, shell);
      expect(r.code, r.stderr).toBe(0);
      expect(await n.get()).toBe(text);
    }
  });

  it('fails with the reason when the reload itself fails, and nothing is waited for', () => {
    const r = runForReal(reloadInEffect(raw('echo "nginx: [error] invalid PID number" >&2; exit 3')));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('invalid PID number');
  });
});
