import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TransportError } from './errors.js';
import { type RecordedCall, RecordingTransport } from './recording.js';

const web = { name: 'web', address: '10.0.0.10' };
const db = { name: 'db', address: '10.0.0.11' };

describe('RecordingTransport', () => {
  it('records every exec, put and get in order across hosts, with a sequence number', async () => {
    const rec = new RecordingTransport();
    const [w, d] = await Promise.all([rec.connect(web), rec.connect(db)]);
    await w.exec('systemctl stop app', { timeoutMs: 30_000 });
    await d.exec('cat > /etc/pw', { stdin: 's3cr3t' });
    await w.put(Buffer.from('tar'), '/home/app.tar', { mode: '0644' });
    await w.get('/home/app.tar');
    expect(rec.calls).toEqual([
      { seq: 1, host: 'web', type: 'exec', script: 'systemctl stop app', timeoutMs: 30_000 },
      { seq: 2, host: 'db', type: 'exec', script: 'cat > /etc/pw', stdin: 's3cr3t' },
      { seq: 3, host: 'web', type: 'put', path: '/home/app.tar', data: Buffer.from('tar'), mode: '0644' },
      { seq: 4, host: 'web', type: 'get', path: '/home/app.tar' },
    ]);
    expect(rec.callsFor('db').map((c) => c.seq)).toEqual([2]);
    expect(rec.scripts()).toEqual(['systemctl stop app', 'cat > /etc/pw']);
    expect(rec.scripts('web')).toEqual(['systemctl stop app']);
  });

  it('answers from rules: host before star when listed first, first match wins, default success', async () => {
    const rec = new RecordingTransport()
      .respond('web', 'is-active', { code: 3, stdout: 'inactive\n' })
      .respond('*', /is-active/, { stdout: 'active\n' })
      .respond(
        '*',
        (script) => script.startsWith('echo '),
        (call) => ({ stdout: `${call.script.slice(5)}\n` }),
      )
      .fail('db', 'systemctl start', { stderr: 'Job failed' });
    const [w, d] = await Promise.all([rec.connect(web), rec.connect(db)]);
    expect(await w.exec('systemctl is-active app')).toEqual({ code: 3, stdout: 'inactive\n', stderr: '' });
    expect(await d.exec('systemctl is-active app')).toEqual({ code: 0, stdout: 'active\n', stderr: '' });
    expect(await d.exec('echo hello')).toEqual({ code: 0, stdout: 'hello\n', stderr: '' });
    expect(await d.exec('systemctl start app')).toEqual({ code: 1, stdout: '', stderr: 'Job failed' });
    expect(await w.exec('systemctl start app')).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('limits a rule to a number of answers (fail once, then succeed)', async () => {
    const rec = new RecordingTransport().fail('*', 'curl', { code: 7 }, { times: 1 });
    const w = await rec.connect(web);
    expect((await w.exec('curl -f http://x')).code).toBe(7);
    expect((await w.exec('curl -f http://x')).code).toBe(0);
  });

  it('streams the answer to onOutput and supports async replies', async () => {
    const rec = new RecordingTransport().respond('*', 'log', async () => ({
      stdout: 'line\n',
      stderr: 'warn\n',
    }));
    const w = await rec.connect(web);
    const seen: string[] = [];
    await w.exec('tail log', { onOutput: (stream, text) => seen.push(`${stream}:${text}`) });
    expect(seen).toEqual(['stdout:line\n', 'stderr:warn\n']);
  });

  it('keeps a virtual file system per host for put and get', async () => {
    const rec = new RecordingTransport().setFile('db', '/etc/app.yml', 'a: 1\n');
    const [w, d] = await Promise.all([rec.connect(web), rec.connect(db)]);
    const data = Buffer.from([0, 1, 2, 255]);
    expect(await w.put(data, '/tmp/bin', { mode: '0600' })).toEqual({
      sha256: createHash('sha256').update(data).digest('hex'),
    });
    expect((await w.get('/tmp/bin')).equals(data)).toBe(true);
    expect(rec.file('web', '/tmp/bin')?.equals(data)).toBe(true);
    expect(rec.fileMode('web', '/tmp/bin')).toBe('0600');
    expect((await d.get('/etc/app.yml')).toString()).toBe('a: 1\n');
    await expect(d.get('/tmp/bin')).rejects.toThrow(TransportError);
    await expect(w.get('/etc/app.yml')).rejects.toThrow(/No such file/);
  });

  it('delays answers through the injected hook, so a test decides how hosts interleave', async () => {
    const gates = new Map<string, () => void>();
    const rec = new RecordingTransport({
      delay: (call: RecordedCall) => new Promise<void>((resolve) => gates.set(call.host, resolve)),
    });
    const [w, d] = await Promise.all([rec.connect(web), rec.connect(db)]);
    const finished: string[] = [];
    const a = w.exec('step web').then(() => finished.push('web'));
    const b = d.exec('step db').then(() => finished.push('db'));
    await Promise.resolve();
    gates.get('db')?.();
    await b;
    gates.get('web')?.();
    await a;
    expect(finished).toEqual(['db', 'web']);
    expect(rec.calls.map((c) => c.host)).toEqual(['web', 'db']);
  });

  it('rejects an aborted exec with the abort reason, and calls on closed sessions', async () => {
    const controller = new AbortController();
    const rec = new RecordingTransport({
      delay: (_call, signal) =>
        new Promise<void>((_resolve, reject) =>
          signal?.addEventListener('abort', () => reject(signal.reason)),
        ),
    });
    const w = await rec.connect(web);
    const pending = w.exec('sleep 100', { signal: controller.signal });
    controller.abort(new Error('operator abort'));
    await expect(pending).rejects.toThrow('operator abort');
    expect(rec.openSessions).toBe(1);
    await w.close();
    expect(rec.openSessions).toBe(0);
    await expect(w.exec('true')).rejects.toThrow(/closed/);
  });
});
