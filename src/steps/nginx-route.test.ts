import { describe, expect, it } from 'vitest';
import { nginxRoute } from './nginx-route.js';
import { commandsOf, testContext } from './test-support.js';

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
    expect(reload?.type === 'exec' && String(reload.cmd)).toBe('nginx -s reload');
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
    expect(reload?.type === 'exec' && String(reload.cmd)).toBe('systemctl reload nginx');
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
      'nginx -s reload',
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
