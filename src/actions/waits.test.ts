/**
 * The waits' pacing on the fake clock: when each poll happens, in virtual time, decided by the
 * wait and not by how fast this machine is.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh } from '../shell/command.js';
import { Redactor } from '../shell/secret.js';
import type { Session } from '../transport/transport.js';
import { FakeClock } from './clock.js';
import type { ActionEnv } from './env.js';
import { runWait } from './waits.js';

const clock = new FakeClock();
/** Virtual times at which the server was asked, and how many answers are 503 before a 200. */
const asked: number[] = [];
let notYet = 0;
const server = createServer((_req, res) => {
  asked.push(clock.now());
  res.statusCode = notYet-- > 0 ? 503 : 200;
  res.end('ok');
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/login`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function env(deadlineMs: number, session = {} as Session): ActionEnv {
  return {
    session,
    clock,
    deadline: clock.now() + deadlineMs,
    signal: new AbortController().signal,
    stepId: 'up/login@web',
    host: 'web',
    marks: [],
    outputs: {},
    redactor: new Redactor(),
    emit: () => {},
    pollIntervalMs: 1000,
  } as unknown as ActionEnv;
}

describe('wait.http', () => {
  const condition = {
    kind: 'http' as const,
    request: { url: '', method: 'GET', headers: {}, insecure: false },
    expectStatus: [200],
  };

  it('asks again after 100 ms, then backs off, doubling up to the poll interval', async () => {
    asked.length = 0;
    notYet = 6;
    const start = clock.now();
    await runWait({ ...condition, request: { ...condition.request, url } }, 1000, env(60_000));
    expect(asked.map((t) => t - start)).toEqual([0, 100, 300, 700, 1500, 2500, 3500]);
  });

  it('never waits longer than a shorter poll interval', async () => {
    asked.length = 0;
    notYet = 3;
    const start = clock.now();
    await runWait({ ...condition, request: { ...condition.request, url } }, 50, env(60_000));
    expect(asked.map((t) => t - start)).toEqual([0, 50, 100, 150]);
  });
});

describe('a command that waits on the host (wait.file)', () => {
  /** A host that answers "not yet" `times` times, saying how it waited, then "done"; it records when it was asked. */
  function host(how: 'inotifywait' | 'polled', times: number) {
    const at: number[] = [];
    const session = {
      host: 'web',
      exec: async () => {
        at.push(clock.now());
        return at.length > times
          ? { code: 0, stdout: '', stderr: '' }
          : { code: 1, stdout: `waited: ${how}\n`, stderr: '' };
      },
    } as unknown as Session;
    return { at, session };
  }
  const condition = { kind: 'command' as const, cmd: sh`true`, description: 'x', hostWaits: { capSec: 5 } };

  it('after the host waited for a change (inotifywait), asks again at once', async () => {
    const { at, session } = host('inotifywait', 3);
    const start = clock.now();
    await runWait(condition, 1000, env(60_000, session));
    expect(at.map((t) => t - start)).toEqual([0, 0, 0, 0]);
  });

  it('a host that could not wait (polled) is asked again after 100 ms, not the interval', async () => {
    const { at, session } = host('polled', 3);
    const start = clock.now();
    await runWait(condition, 1000, env(60_000, session));
    expect(at.map((t) => t - start)).toEqual([0, 100, 200, 300]);
  });
});
