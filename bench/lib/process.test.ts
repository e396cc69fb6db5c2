import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hyperfineWord, measure, parseGnuTime, parseHyperfine, run, tail } from './process.js';

const workDir = mkdtempSync(join(tmpdir(), 'bench-process-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('running commands', () => {
  it('captures output and exit codes, and names the failing command with its output', async () => {
    expect(await run('sh', ['-c', 'echo out; echo err >&2'])).toMatchObject({
      code: 0,
      stdout: 'out\n',
      stderr: 'err\n',
    });
    expect((await run('sh', ['-c', 'exit 3'], { check: false })).code).toBe(3);
    await expect(run('sh', ['-c', 'echo why >&2; exit 3'])).rejects.toThrow(/sh -c .* exited 3:\n {2}\| why/);
    await expect(run('/nonexistent/bench-tool', [])).rejects.toThrow(/is it installed/);
  });

  it('shows the tail of long output', () => {
    expect(tail('a\nb\nc\n', 2)).toBe('  | b\n  | c');
  });
});

describe("reading measurement tools' output", () => {
  it('reads hyperfine JSON as milliseconds per run', () => {
    const json = JSON.stringify({ results: [{ command: 'floor', times: [0.8125, 0.79] }] });
    expect(parseHyperfine(json)).toEqual([{ name: 'floor', timesMs: [812.5, 790] }]);
    expect(() => parseHyperfine(JSON.stringify({ results: [{ command: 'x', times: [] }] }))).toThrow(
      /no run times/,
    );
  });

  it('quotes words for hyperfine like a POSIX shell would', () => {
    expect(hyperfineWord('/tmp/a.yml')).toBe('/tmp/a.yml');
    expect(hyperfineWord("it's a")).toBe(`'it'"'"'s a'`);
  });

  it("reads GNU time's wall, CPU and peak memory", () => {
    expect(parseGnuTime('Command exited with non-zero status 1\n0.81 0.42 0.12 61234\n')).toEqual({
      wallMs: 810,
      treeCpuMs: 540,
      maxRssKiB: 61234,
    });
    expect(() => parseGnuTime('garbage')).toThrow(/wall user sys maxrss/);
  });
});

describe('measuring a real process', () => {
  it('measures CPU and memory of a busy child', async () => {
    // Busy for 300 ms of its own CPU time, not of wall time, so a loaded machine cannot shorten it.
    const busy =
      'let x = 0; const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }; while (cpu() < 300) x++; const keep = Buffer.alloc(64 * 2 ** 20, 1); console.log(keep.length + x * 0)';
    const use = await measure([process.execPath, '-e', busy], { workDir });
    expect(use.treeCpuMs).toBeGreaterThanOrEqual(250);
    expect(use.maxRssKiB).toBeGreaterThan(64 * 1024);
    if (use.cpuMs !== undefined) expect(use.cpuMs).toBeGreaterThanOrEqual(use.treeCpuMs - 20);
  });

  it('ends a detached process the command left behind, as Ansible leaves its ssh masters', async () => {
    const marker = `${31 + Math.random()}`.slice(0, 8);
    await measure(['sh', '-c', `setsid -f sleep ${marker} </dev/null >/dev/null 2>&1`], { workDir });
    const left = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
        } catch {
          return false;
        }
      });
    // Without a writable cpuacct cgroup nothing can find it: then end it here and say so.
    if (!existsSync('/sys/fs/cgroup/cpuacct/cgroup.procs')) for (const p of left) process.kill(Number(p));
    else expect(left).toEqual([]);
  });

  it('fails with the command and its output when the command fails', async () => {
    await expect(measure(['sh', '-c', 'echo broken >&2; exit 2'], { workDir })).rejects.toThrow(
      /exit 2.*\n {2}\| broken/,
    );
  });
});
