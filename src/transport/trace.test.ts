import { describe, expect, it } from 'vitest';
import { tracedSession } from './trace.js';
import type { ExecResult, Session } from './transport.js';

function fake(res: ExecResult): Session {
  return {
    host: 'web',
    exec: async () => res,
    put: async () => ({ sha256: 'x' }),
    get: async () => Buffer.from(''),
    close: async () => {},
  };
}

describe('tracedSession (-vv)', () => {
  it('reports each command, its output, exit code and time, redacted, and returns the result unchanged', async () => {
    const lines: string[] = [];
    let t = 0;
    const res = { code: 1, stdout: 'token=s3cret\nok\n', stderr: 'warn\n' };
    const s = tracedSession(
      fake(res),
      (l) => lines.push(l),
      (text) => text.replaceAll('s3cret', '<secret:t>'),
      () => (t += 5),
    );
    expect(await s.exec('probe s3cret', { stdin: 'x' })).toBe(res);
    expect(lines).toEqual([
      'trace web: $ probe <secret:t> (with stdin)',
      'trace web: | token=<secret:t>',
      'trace web: | ok',
      'trace web: ! warn',
      'trace web: exit 1 in 5 ms',
    ]);
    expect(s.host).toBe('web');
  });
});
