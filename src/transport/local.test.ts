import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalTransport } from './local.js';
import { processGone, sessionContract } from './testing/contract.js';

const scratch = mkdtempSync(join(tmpdir(), 'cutover-local-'));
const transport = new LocalTransport({ killGraceMs: 300 });
afterAll(async () => {
  await transport.close();
  rmSync(scratch, { recursive: true, force: true });
});

sessionContract('local', () => ({
  connect: () => transport.connect({ name: 'ctl', address: 'localhost' }),
  scratch,
}));

describe('LocalTransport', () => {
  it('starts commands in the home folder by default, or in the given folder', async () => {
    const s = await transport.connect({ name: 'ctl', address: 'localhost' });
    expect((await s.exec('pwd')).stdout.trim()).toBe(process.env.HOME);
    const inScratch = new LocalTransport({ cwd: scratch });
    const s2 = await inScratch.connect({ name: 'ctl', address: 'localhost' });
    expect((await s2.exec('pwd')).stdout.trim()).toBe(scratch);
    await s2.put(Buffer.from('rel'), 'relative.txt');
    expect((await s2.get(join(scratch, 'relative.txt'))).toString()).toBe('rel');
    await inScratch.close();
    await s.close();
  });

  it('close() ends every session it opened', async () => {
    const t = new LocalTransport();
    const a = await t.connect({ name: 'a', address: 'localhost' });
    const b = await t.connect({ name: 'b', address: 'localhost' });
    // The driver shell is the parent of the command's reporter ($PPID).
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    const driverPid = 'read -r l < /proc/$PPID/stat; set -- ${l##*) }; echo $2';
    const pids = (await Promise.all([a.exec(driverPid), b.exec(driverPid)])).map((r) => Number(r.stdout));
    expect(pids.every((pid) => !processGone(pid))).toBe(true);
    await t.close();
    expect(pids.every((pid) => processGone(pid))).toBe(true);
    await expect(a.exec('true')).rejects.toThrow(/closed/);
    await expect(b.exec('true')).rejects.toThrow(/closed/);
  });
});
