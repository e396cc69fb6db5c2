import { describe, expect, it } from 'vitest';
import { TemplatedWord } from '../shell/word.js';
import { testContext } from './test-support.js';
import { waitLog } from './wait-log.js';

const ctx = testContext();

describe('wait.log', () => {
  it('waits on new lines of a dated log, leaving since to the compiler when absent', () => {
    const path = new TemplatedWord(['/var/log/comindware/cmw/heartbeat_', { hostDate: '%Y-%m-%d' }, '.log']);
    const p = waitLog.params.parse({ path, pattern: 'hold\\.lock', fail: ['FATAL', 'Exception in'] });
    expect(waitLog.plan(p, ctx).actions).toEqual([
      {
        type: 'wait',
        condition: {
          kind: 'log',
          path,
          pattern: 'hold\\.lock',
          failPatterns: ['FATAL', 'Exception in'],
          since: '',
        },
      },
    ]);
    const withSince = waitLog.params.parse({
      path: '/home/schedulelog/schedule.log',
      pattern: 'Started',
      since: 'start',
    });
    expect(waitLog.plan(withSince, ctx).actions[0]).toMatchObject({
      condition: { since: 'start', failPatterns: [] },
    });
    expect(waitLog.readOnly).toBe(true);
  });

  it('refuses invalid regexes with the reason', () => {
    expect(() => waitLog.params.parse({ path: '/x.log', pattern: 'a(' })).toThrow(
      /invalid regular expression \/a\(\//,
    );
    expect(() => waitLog.params.parse({ path: '/x.log', pattern: 'ok', fail: ['[z-a]'] })).toThrow(
      /invalid regular expression/,
    );
  });
});
