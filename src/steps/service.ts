import { z } from 'zod';
import { type Command, ifThen, lines, raw, sh } from '../shell/command.js';
import { isStatic, staticValue, type Word } from '../shell/word.js';
import { type Action, defineKind, type StepKind } from './kind.js';
import { word } from './params.js';
import { fail, holdsSecret, printSaved, recorded, say, stepDir } from './support.js';

const UNIT = /^[A-Za-z0-9@_:.\\-]+$/;

/** A systemd unit name (templates allowed, resolved at plan time). Example: `apigateway{{ params.instance }}`. */
export const unitName = word
  .refine(
    (w) => isStatic(w) && !holdsSecret(w) && UNIT.test(staticValue(w)) && !staticValue(w).startsWith('-'),
    {
      message: 'expected a systemd unit name such as comindwarecmw or nginx.service',
    },
  )
  .meta({ type: 'string' });

const params = z
  .object({
    unit: unitName.describe('systemd unit, e.g. apigateway{{ params.instance }}'),
  })
  .strict();

type Params = z.output<typeof params>;
type Verb = 'stop' | 'start' | 'restart';

/** States in which a unit counts as running (`systemctl is-active` words). */
const RUNNING = new Set(['active', 'activating', 'reloading', 'refreshing']);
/** States in which a unit counts as stopped. */
const STOPPED = new Set(['inactive', 'failed']);

/** Waits until `systemctl is-active` says stopped (inactive, or failed: e.g. java exiting 143 on TERM). */
function waitStopped(unit: Word): Action {
  return {
    type: 'wait',
    condition: {
      kind: 'command',
      cmd: sh`s=$(systemctl is-active ${unit}); echo "$s"; [ "$s" = inactive ] || [ "$s" = failed ]`,
      description: `${String(unit)} to be stopped (inactive or failed)`,
    },
  };
}

function waitActive(unit: Word): Action {
  return {
    type: 'wait',
    condition: {
      kind: 'command',
      cmd: sh`systemctl is-active ${unit}`,
      description: `${String(unit)} to be active`,
    },
  };
}

/** Records the unit's state before the step, once: a retry must not record the state the step itself caused. */
function saveState(verb: Verb, unit: Word, dir: string): Command {
  const readOnce = lines(
    sh`s=$(systemctl is-active ${unit})`,
    ifThen(
      raw('[ -z "$s" ]'),
      fail(2, 'service.%s: cannot read the state of %s (systemctl is-active printed nothing)', verb, unit),
    ),
    raw(`printf '%s\\n' "$s" > "$d/before"`),
  );
  return lines(
    sh`d=${dir}`,
    raw('mkdir -p -- "$d" || exit 2'),
    ifThen(raw('[ ! -e "$d/before" ]'), readOnce),
    say('before=%s', raw('"$(cat "$d/before")"')),
  );
}

function probe(verb: Verb, unit: Word, dir: string): { cmd: Command; description: string } | undefined {
  if (verb === 'restart') return undefined; // "active" does not prove that a restart happened
  const cases =
    verb === 'stop'
      ? 'case $s in (inactive|failed) exit 0;; (active|activating|deactivating|reloading|refreshing) exit 1;; (*) exit 2;; esac'
      : 'case $s in (active|reloading|refreshing) exit 0;; (inactive|failed|activating|deactivating) exit 1;; (*) exit 2;; esac';
  return {
    cmd: lines(sh`d=${dir}`, printSaved(['before']), sh`s=$(systemctl is-active ${unit})`, raw(cases)),
    description: verb === 'stop' ? `${String(unit)} is stopped` : `${String(unit)} is active`,
  };
}

function serviceKind(verb: Verb, summary: string): StepKind<Params> & { params: typeof params } {
  return defineKind({
    name: `service.${verb}`,
    summary,
    params,
    intent: (p) => ({
      does: `${verb} ${String(p.unit)}${verb === 'restart' ? '' : ' (waits for the state)'}`,
      undo:
        verb === 'stop'
          ? 'start it again if it was running'
          : verb === 'start'
            ? 'stop it again if it was stopped'
            : 'none',
    }),
    plan(p, ctx) {
      const dir = stepDir(ctx);
      const check = probe(verb, p.unit, dir);
      return {
        actions: [
          {
            type: 'exec',
            cmd: saveState(verb, p.unit, dir),
            capture: { keyValues: true },
            description: 'record the state before',
          },
          { type: 'exec', cmd: sh`systemctl ${verb} ${p.unit}` },
          verb === 'stop' ? waitStopped(p.unit) : waitActive(p.unit),
        ],
        ...(check ? { probe: check } : {}),
      };
    },
    compensate(p, outputs) {
      const before = recorded(outputs, 'before');
      if (before === undefined) return [];
      // Unknown words (not a systemd state) get the undo that restores the other state: safer than none.
      if (verb === 'stop') {
        return STOPPED.has(before)
          ? []
          : [{ type: 'exec', cmd: sh`systemctl start ${p.unit}` }, waitActive(p.unit)];
      }
      return RUNNING.has(before)
        ? []
        : [{ type: 'exec', cmd: sh`systemctl stop ${p.unit}` }, waitStopped(p.unit)];
    },
  });
}

/** `service.stop`: `systemctl stop`, then waits until stopped; the undo starts it again if it was running. Example: `{ unit: 'comindwarecmw' }`. */
export const serviceStop = serviceKind(
  'stop',
  'Stop a systemd unit and wait until systemctl is-active says inactive (or failed); the undo starts it again only if it was running before.',
);

/** `service.start`: `systemctl start`, then waits until active; the undo stops it if it was not running. Example: `{ unit: 'nginx' }`. */
export const serviceStart = serviceKind(
  'start',
  'Start a systemd unit and wait until systemctl is-active says active; the undo stops it again only if it was not running before.',
);

/** `service.restart`: `systemctl restart`, then waits until active; the undo stops it if it was not running. Example: `{ unit: 'nginx' }`. */
export const serviceRestart = serviceKind(
  'restart',
  'Restart a systemd unit and wait until systemctl is-active says active; the undo stops it only if it was not running before (a restart itself cannot be undone). No probe: being active does not prove a restart.',
);
