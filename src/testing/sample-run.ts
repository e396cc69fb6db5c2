/**
 * A small deterministic run for the UI, journal and docs tests: the real engine over a recording transport on a
 * fake clock, journaled with the clock's time, so events (and the views of them) are stable.
 */
import { FakeClock, type GateApprover } from '../engine/index.js';
import type { JournalEvent, JournalEventBody, JournalStore } from '../journal/events.js';
import { RecordingTransport } from '../transport/recording.js';
import { engineFor } from './engine-fixture.js';
import { fakeInventory, planFixture } from './plan-fixture.js';

/** A journal that stamps events with the fake clock's time. Example: `new ClockedJournal(clock)`. */
export class ClockedJournal implements JournalStore {
  readonly events: JournalEvent[] = [];
  constructor(private readonly clock: FakeClock) {}
  append(run: string, body: JournalEventBody): JournalEvent {
    const event = {
      ...body,
      seq: this.events.length + 1,
      at: new Date(this.clock.now()).toISOString(),
      run,
    } as JournalEvent;
    this.events.push(JSON.parse(JSON.stringify(event)) as JournalEvent);
    return event;
  }
  read(): JournalEvent[] {
    return this.events;
  }
  listRuns(): string[] {
    return ['r1'];
  }
}

/** The runbook of the sample run: output, a captured version, a wait, a gate, a retry, a failure with undos. */
export const SAMPLE_RUNBOOK = `
name: sample
phases:
  - id: up
    name: upgrade
    hosts: { roles: [app] }
    rolling: { serial: 1 }
    steps:
      - id: version-before
        shell.run: { command: "cat /opt/app/VERSION", capture: version }
      - id: stop
        shell.run: { command: "echo stopping app", undo: "echo starting app" }
      - id: wait-gone
        wait.file: { path: /run/app.pid, state: absent }
      - id: install
        shell.run: { command: "install-app 2.0", undo: "install-app 1.0" }
        retries: 1
        retry_delay: 1s
      - id: version-after
        shell.run: { command: "cat /opt/app/VERSION", capture: version }
      - id: check
        gate.confirm: { message: "Check the app on {{ host.address }}" }
`;

/**
 * Runs the sample on hosts a and b: on a, the pid file goes after two polls and the version moves
 * 1.0 -> 2.0; on b, install fails twice, so b's completed steps are undone and the run fails.
 * Example: `const { events } = await sampleRun()`.
 */
export async function sampleRun(
  approve: GateApprover = async () => ({ approved: true, by: 'dashboard (127.0.0.1)' }),
): Promise<{ events: JournalEvent[]; outcome: string }> {
  const fx = await planFixture(SAMPLE_RUNBOOK, fakeInventory(['a', 'b']));
  const clock = new FakeClock();
  const versions: Record<string, string[]> = { a: ['1.0\n', '2.0\n'], b: ['1.0\n'] };
  const rec = new RecordingTransport({ delay: () => clock.sleep(100) })
    .respond('*', 'cat /opt/app/VERSION', (call) => ({ stdout: versions[call.host]?.shift() ?? '?\n' }))
    .respond('*', 'echo stopping app', { stdout: 'stopping app\n' })
    .respond('a', 'p=/run/app.pid; held() { ! [ -e', { code: 1 }, { times: 2 })
    .fail('b', 'install-app 2.0', { code: 2, stderr: 'install-app: disk full\n' })
    .respond('*', 'install-app', { stdout: 'installed\n' });
  const journal = new ClockedJournal(clock);
  let outcome = 'succeeded';
  try {
    await engineFor(fx, rec, journal, { clock, approveGate: approve, pollIntervalMs: 500 }).apply();
  } catch {
    outcome = 'failed';
  }
  return { events: journal.events, outcome };
}
