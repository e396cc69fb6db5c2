import { Engine, type EngineOptions, FakeClock } from '../engine/index.js';
import type { JournalEventBody, JournalStore } from '../journal/events.js';
import type { MemoryJournal } from '../journal/file-store.js';
import type { RecordingTransport } from '../transport/recording.js';
import type { Fixture } from './plan-fixture.js';

/** An engine over a recording transport and a fake clock, run id `r1`, gates approved. */
export function engineFor(
  fx: Fixture,
  rec: RecordingTransport,
  journal: JournalStore,
  extra: Partial<EngineOptions> = {},
) {
  return new Engine({
    plan: fx.plan,
    runId: 'r1',
    journal,
    connect: (h) => rec.connect({ name: h.name, address: h.address }),
    redactor: fx.redactor,
    approveGate: async () => true,
    templateScope: fx.scope,
    clock: new FakeClock(),
    ...extra,
  });
}

/** A journal whose controller dies right after `step.started` of `step`: nothing more is written. */
export function crashAfterStart(journal: MemoryJournal, step: string): JournalStore {
  return {
    append(run: string, e: JournalEventBody) {
      const last = journal.read(run).at(-1);
      if (last?.type === 'step.started' && last.step === step) throw new Error('controller killed');
      return journal.append(run, e);
    },
    read: (r) => journal.read(r),
    listRuns: () => journal.listRuns(),
  };
}
