import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../shell/secret.js';
import { TemplatedWord } from '../shell/word.js';
import { curlConfigEscape, fileDownload } from './file-download.js';
import {
  commandsOf,
  runActionsForReal,
  runForReal,
  runForRealAsync,
  SHELLS,
  tempDir,
  testContext,
} from './test-support.js';

const ctx = testContext();
const DIR = '/var/tmp/cutover/r1/upgrade_step_web';
const URL = 'https://teamcity.comindware.com/repository/download/5.0-cmw-5.0.23654.0.deb.tar.gz';
const password = new Secret('distr_password', 's3cr3t');

describe('file.download', () => {
  it('feeds credentials to curl on stdin and renames a verified temp file', () => {
    const p = fileDownload.params.parse({
      url: URL,
      dest: '/mnt/shared/cmw.tar.gz',
      user: 'cmw-devops',
      password,
      sha256: 'AB'.repeat(32),
    });
    const planned = fileDownload.plan(p, ctx);
    const sha = 'ab'.repeat(32);
    expect(commandsOf(planned.actions).slice(1)).toEqual([
      [
        `d=${DIR}`,
        'p=/mnt/shared/cmw.tar.gz',
        't="$p.cutover-part"',
        'rm -f -- "$t" &&',
        `  curl --fail --location --silent --show-error --config - --output "$t" ${URL} &&`,
        '  h=$(sha256sum < "$t") &&',
        `  if [ "\${h%% *}" != ${sha} ]; then`,
        `    printf 'file.download: the download for %s has sha256 %s, expected %s; the old file is untouched\\n' "$p" "\${h%% *}" ${sha} >&2`,
        '    rm -f -- "$t"',
        '    exit 1',
        '  fi &&',
        '  mv -f -T -- "$t" "$p" &&',
        `  : > "$d/done" <<< 'user = "cmw-devops:'<secret:distr_password>'"\n'`,
      ].join('\n'),
    ]);
    const fetch = planned.actions[1];
    if (fetch?.type !== 'exec') throw new Error('expected exec');
    expect(fetch.cmd.render('exec')).not.toContain('s3cr3t');
    expect(fetch.cmd.stdinText()).toBe('user = "cmw-devops:s3cr3t"\n');
    expect(planned.actions[0]).toMatchObject({ type: 'exec', capture: { keyValues: true } });
    expect(String(planned.probe?.cmd)).toBe(
      [
        `d=${DIR}`,
        'p=/mnt/shared/cmw.tar.gz',
        'if [ -e "$d/existed" ]; then',
        `  printf 'existed=%s\\n' "$(cat "$d/existed")"`,
        'fi',
        `printf 'path=%s\\n' "$p"`,
        '[ -f "$p" ] || exit 1',
        'h=$(sha256sum < "$p") || exit 2',
        `[ "\${h%% *}" = ${sha} ]`,
      ].join('\n'),
    );
  });

  it('puts a URL holding a secret in the stdin config, escaped', () => {
    const url = new TemplatedWord(['https://h/x?token=', new Secret('token', 'a"b\\c')]);
    const planned = fileDownload.plan(
      fileDownload.params.parse({ url, dest: "/tmp/a b'; touch /tmp/pwned", insecure: true }),
      ctx,
    );
    const fetch = planned.actions[1];
    if (fetch?.type !== 'exec') throw new Error('expected exec');
    expect(fetch.cmd.render('exec')).toContain(
      `\np='/tmp/a b'\\''; touch /tmp/pwned'\nt="$p.cutover-part"\nrm -f -- "$t" &&\n  curl --fail --location --silent --show-error --insecure --config - --output "$t" &&\n  mv`,
    );
    expect(fetch.cmd.stdinText()).toBe('url = "https://h/x?token=a\\"b\\\\c"\n');
    expect(String(planned.probe?.cmd)).toContain(
      `[ -f "$p" ] || exit 1\nif [ "$(cat "$d/existed" 2>/dev/null)" = 1 ] && [ ! -e "$d/done" ]; then\n  exit 1\nfi`,
    );
  });

  it('undoes from the recorded outputs, removing the temp file too', () => {
    const p = fileDownload.params.parse({ url: URL, dest: '/mnt/shared/cmw.tar.gz' });
    expect(
      commandsOf(fileDownload.compensate!(p, { existed: '0', path: '/mnt/shared/cmw.tar.gz' }, ctx)),
    ).toEqual(['p=/mnt/shared/cmw.tar.gz\nrm -f -- "$p.cutover-part"\nrm -f -- "$p"']);
    expect(commandsOf(fileDownload.compensate!(p, { existed: '1' }, ctx))).toEqual([
      `d=${DIR}\np=/mnt/shared/cmw.tar.gz\nrm -f -- "$p.cutover-part"\ncp -a -- "$d/previous" "$p.cutover-undo" && mv -f -T -- "$p.cutover-undo" "$p"`,
    ]);
    expect(fileDownload.compensate!(p, {}, ctx)).toEqual([]);
  });

  it('refuses a user without password, and non-http URLs', () => {
    expect(() => fileDownload.params.parse({ url: URL, dest: '/x', user: 'u' })).toThrow(
      /user and password go together/,
    );
    expect(() => fileDownload.params.parse({ url: 'ftp://x/y', dest: '/x' })).toThrow(/http/);
    expect(curlConfigEscape('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });
});

describe.each(SHELLS)('file.download under %s, for real against a local server', (shell) => {
  const tricky = `p"a\\ss:w rd'`;
  const body = 'distribution bytes\n';
  let server: Server;
  let base = '';
  let t: ReturnType<typeof tempDir> | undefined;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const expected = `Basic ${Buffer.from(`cmw-devops:${tricky}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401).end('unauthorized');
        return;
      }
      res.writeHead(200).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => t?.remove());

  const run = async (p: ReturnType<typeof fileDownload.params.parse>, runDir: string) => {
    const c = testContext({ runDir });
    const planned = fileDownload.plan(p, c);
    const saved = runActionsForReal(planned.actions.slice(0, 1), shell);
    const fetch = planned.actions[1];
    if (fetch?.type !== 'exec') throw new Error('expected exec');
    return { saved, fetched: await runForRealAsync(fetch.cmd, shell), planned, c };
  };

  it('authenticates with a password full of quotes and backslashes, verifies, and undoes', async () => {
    t = tempDir();
    const dest = `${t.path}/cmw.tar.gz`;
    writeFileSync(dest, 'previous version\n');
    const sha = createHash('sha256').update(body).digest('hex');
    const p = fileDownload.params.parse({
      url: `${base}/cmw.tar.gz`,
      dest,
      user: 'cmw-devops',
      password: new Secret('pw', tricky),
      sha256: sha,
    });
    const { saved, fetched, planned, c } = await run(p, `${t.path}/run`);
    expect(fetched.stderr).toBe('');
    expect(fetched.code).toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe(body);
    expect(existsSync(`${dest}.cutover-part`)).toBe(false);
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(0);
    expect(runActionsForReal(fileDownload.compensate!(p, saved.outputs, c), shell).ok).toBe(true);
    expect(readFileSync(dest, 'utf8')).toBe('previous version\n');
  });

  it('fails on a wrong password or a wrong checksum and leaves the old file', async () => {
    t = tempDir();
    const dest = `${t.path}/cmw.tar.gz`;
    writeFileSync(dest, 'previous version\n');
    const wrongPw = fileDownload.params.parse({
      url: `${base}/x`,
      dest,
      user: 'cmw-devops',
      password: new Secret('pw', 'nope'),
    });
    const denied = await run(wrongPw, `${t.path}/run1`);
    expect(denied.fetched.code).not.toBe(0);
    expect(denied.fetched.stderr).toContain('401');
    const wrongSha = fileDownload.params.parse({
      url: `${base}/x`,
      dest,
      user: 'cmw-devops',
      password: new Secret('pw', tricky),
      sha256: '0'.repeat(64),
    });
    const mismatch = await run(wrongSha, `${t.path}/run2`);
    expect(mismatch.fetched.code).toBe(1);
    expect(mismatch.fetched.stderr).toBe(
      `file.download: the download for ${dest} has sha256 ${createHash('sha256').update(body).digest('hex')}, expected ${'0'.repeat(64)}; the old file is untouched\n`,
    );
    expect(existsSync(`${dest}.cutover-part`)).toBe(false);
    expect(readFileSync(dest, 'utf8')).toBe('previous version\n');
    expect(runForReal(mismatch.planned.probe!.cmd, {}, shell).code).toBe(1);
  });

  it('without a checksum, a file that was there before is done only once this step downloaded it', async () => {
    t = tempDir();
    const dest = `${t.path}/cmw.tar.gz`;
    writeFileSync(dest, 'previous version\n');
    const p = fileDownload.params.parse({
      url: `${base}/cmw.tar.gz`,
      dest,
      user: 'cmw-devops',
      password: new Secret('pw', tricky),
    });
    const c = testContext({ runDir: `${t.path}/run` });
    const planned = fileDownload.plan(p, c);
    expect(runActionsForReal(planned.actions.slice(0, 1), shell).outputs).toEqual({
      existed: '1',
      path: dest,
    });
    expect(runForReal(planned.probe!.cmd, {}, shell)).toMatchObject({
      code: 1,
      stdout: `existed=1\npath=${dest}\n`,
    });
    const fetch = planned.actions[1];
    if (fetch?.type !== 'exec') throw new Error('expected exec');
    expect(await runForRealAsync(fetch.cmd, shell)).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(0);
    expect(existsSync(`${c.runDir}/upgrade_step_web/done`)).toBe(true);
  });
});
