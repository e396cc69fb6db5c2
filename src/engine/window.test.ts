/**
 * `rolling: { window: N }` through the engine (recording transport, fake clock): N hosts in
 * flight, the next one started as soon as one is done, with the canary, max_unavailable and the
 * failure budget honoured; `serial: N` keeps its batches. Each host's step runs until the test
 * releases it, and the order of host starts is read from the journal: barriers, no durations.
 */
import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../journal/events.js';
import { MemoryJournal } from '../journal/file-store.js';
import { engineFor } from '../testing/engine-fixture.js';
import { fakeInventory, planFixture } from '../testing/plan-fixture.js';
import { RecordingTransport } from '../transport/recording.js';

const HOSTS = ['a', 'b', 'c', 'd', 'e'];

function runbook(rolling: string): string {
  return `
name: window
phases:
  - id: up
    hosts: all
    rolling: ${rolling}
    steps:
      - id: work
        shell.run: { command: "work-{{ host.name }}" }
`;
}

/** Lets every settled promise's callbacks run (a barrier on the event loop, not a duration). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

async function rollout(rolling: string) {
  const fx = await planFixture(runbook(rolling), fakeInventory(HOSTS));
  const rec = new RecordingTransport();
  const release = new Map<string, (code: number) => void>();
  for (const h of HOSTS)
    rec.respond(h, `work-${h}`, () => new Promise((resolve) => release.set(h, (code) => resolve({ code }))));
  const journal = new MemoryJournal();
  const events = () => journal.read('r1');
  const started = () => events().flatMap((e) => (e.type === 'host.started' ? [e.host] : []));
  /** Resolves once the journal holds what `pick` accepts. */
  const until = async (pick: (e: JournalEvent) => boolean) => {
    while (!events().some(pick)) await new Promise<void>((r) => setImmediate(r));
  };
  /** Ends host h's step (0: succeeds) once it is running, and waits until the engine saw it finish. */
  const finish = async (h: string, code = 0) => {
    await until((e) => e.type === 'step.started' && e.step === `up/work@${h}`);
    release.get(h)?.(code);
    await until((e) => e.type === 'host.finished' && e.host === h);
    await settle();
  };
  const done = engineFor(fx, rec, journal)
    .apply()
    .catch((e: Error) => e);
  await settle();
  return { started, finish, done, events };
}

describe('rolling window: N hosts in flight', () => {
  it('starts the next host as soon as one is done, in host order', async () => {
    const r = await rollout('{ window: 2 }');
    expect(r.started()).toEqual(['a', 'b']);
    await r.finish('b');
    expect(r.started()).toEqual(['a', 'b', 'c']);
    await r.finish('c');
    expect(r.started()).toEqual(['a', 'b', 'c', 'd']);
    await r.finish('d');
    expect(r.started()).toEqual(['a', 'b', 'c', 'd', 'e']);
    await r.finish('a');
    await r.finish('e');
    expect(await r.done).toBe('succeeded');
  });

  it('serial: N keeps batch semantics: the next batch waits for the slowest host', async () => {
    const r = await rollout('{ serial: 2 }');
    expect(r.started()).toEqual(['a', 'b']);
    await r.finish('b');
    expect(r.started()).toEqual(['a', 'b']);
    await r.finish('a');
    expect(r.started()).toEqual(['a', 'b', 'c', 'd']);
    await r.finish('d');
    expect(r.started()).toEqual(['a', 'b', 'c', 'd']);
    await r.finish('c');
    expect(r.started()).toEqual(HOSTS);
    await r.finish('e');
    expect(await r.done).toBe('succeeded');
  });

  it('the canary goes alone first, then the pool', async () => {
    const r = await rollout('{ window: 2, canary: { hosts: 1 } }');
    expect(r.started()).toEqual(['a']);
    await r.finish('a');
    expect(r.started()).toEqual(['a', 'b', 'c']);
    await r.finish('c');
    expect(r.started()).toEqual(['a', 'b', 'c', 'd']);
    await r.finish('b');
    await r.finish('d');
    await r.finish('e');
    expect(await r.done).toBe('succeeded');
  });

  it('never more in flight than max_unavailable', async () => {
    const r = await rollout('{ window: 3, max_unavailable: 2 }');
    expect(r.started()).toEqual(['a', 'b']);
    await r.finish('a');
    expect(r.started()).toEqual(['a', 'b', 'c']);
    for (const h of ['b', 'c', 'd', 'e']) await r.finish(h);
    expect(await r.done).toBe('succeeded');
  });

  it('the failure budget spent, no host starts; the one in flight finishes', async () => {
    const r = await rollout('{ window: 2, failure_budget: 0 }');
    await r.finish('b', 1);
    expect(r.started()).toEqual(['a', 'b']);
    await r.finish('a');
    const outcome = await r.done;
    expect(outcome).toBeInstanceOf(Error);
    expect(r.started()).toEqual(['a', 'b']);
    expect(r.events().flatMap((e) => (e.type === 'host.finished' ? [`${e.host}:${e.outcome}`] : []))).toEqual(
      ['b:failed', 'a:succeeded'],
    );
  });

  it('a failure within the budget: the pool goes on', async () => {
    const r = await rollout('{ window: 2, failure_budget: 1 }');
    await r.finish('a', 1);
    expect(r.started()).toEqual(['a', 'b', 'c']);
    for (const h of ['b', 'c', 'd', 'e']) await r.finish(h);
    await r.done;
    expect(r.started()).toEqual(HOSTS);
  });
});
