import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Action } from './kind.js';
import { processStop } from './process-stop.js';
import { commandsOf, runActionsForReal, runForReal, SHELLS, tempDir, testContext } from './test-support.js';

const ctx = testContext();
const DIR = '/var/tmp/cutover/r1/upgrade_step_web';
const FUNCTIONS = [
  `stat_of() { [ -r "/proc/$1/stat" ] && read -r s 2>/dev/null < "/proc/$1/stat" && s=\${s##*") "}; }`,
  `live() { stat_of "$1" && set -- $s && [ "$1" != Z ]; }`,
  `alive() { t=$2; stat_of "$1" && set -- $s && [ "$1" != Z ] && [ "\${20}" = "$t" ]; }`,
  `start_of() { stat_of "$1" && set -- $s && echo "\${20}"; }`,
  `ours() { case $anc in (*" $1 "*) return 0;; esac; q=$1; while stat_of "$q"; do set -- $s; q=$2; [ "$q" = "$$" ] && return 0; done; return 1; }`,
  `anc=" "; q=$$; while stat_of "$q"; do anc="$anc$q "; set -- $s; q=$2; done`,
].join('\n');
const TOMCAT = 'java .*-Dcatalina.base=/home/apache-tomcat-7.0.67';
const FIND_TOMCAT = [
  `pids=$(pgrep -f -- '${TOMCAT}')`,
  'rc=$?',
  'if [ "$rc" -gt 1 ]; then',
  `  printf '%s: pgrep failed (exit %s) for /%s/\\n' process.stop "$rc" '${TOMCAT}' >&2`,
  '  exit 2',
  'fi',
  'hits=',
  'n=0',
  'for c in $pids; do',
  '  if ! ours "$c" && live "$c"; then',
  '    hits="$hits $c"',
  '    n=$((n + 1))',
  '  fi',
  'done',
].join('\n');
/** Indents every line of a fragment by `n` spaces, as a nested body is. */
const nested = (text: string, n: number) => text.replace(/^/gm, ' '.repeat(n));
const execText = (a: Action | undefined) => (a?.type === 'exec' ? String(a.cmd) : '');

describe('process.stop', () => {
  it('finds exactly one process by full command line and kills it (KILL: no grace)', () => {
    const p = processStop.params.parse({
      match: TOMCAT,
      signal: 9,
      restart: '/home/apache-tomcat-7.0.67/bin/startup.sh',
    });
    const planned = processStop.plan(p, ctx);
    expect(planned.actions).toHaveLength(1);
    expect(planned.actions[0]).toMatchObject({ type: 'exec', capture: { keyValues: true } });
    const text = execText(planned.actions[0]);
    expect(
      text.startsWith(
        `d=${DIR}\nmkdir -p -- "$d" || exit 2\n${FUNCTIONS}\npid=\nst=\nif [ -s "$d/pid" ]; then\n`,
      ),
    ).toBe(true);
    expect(text).toContain(
      `\nif [ -z "$pid" ]; then\n${nested(FIND_TOMCAT, 2)}\n  if [ "$n" -gt 1 ]; then\n`,
    );
    expect(text).toContain(
      `\n    printf '%s: no process matches %s; expected exactly one (set missingOk: true when it may already be stopped)\\n' process.stop '/${TOMCAT}/' >&2\n    exit 1\n`,
    );
    // KILL: no grace, straight to the 10 s wait for the process to be gone.
    expect(text).toContain(
      `\nif [ -n "$pid" ]; then\n  kill -s KILL "$pid" 2>/dev/null\n  end=$(($(date +%s) + 10))\n  while alive "$pid" "$st" && [ "$(date +%s)" -le "$end" ]; do\n`,
    );
    expect(String(planned.probe?.cmd)).toBe(
      `d=${DIR}\nif [ -s "$d/pid" ]; then\n  printf 'pid=%s\\ncommand=%s\\n' "$(cat "$d/pid")" "$(cat "$d/command")"\nfi\n${FUNCTIONS}\n${FIND_TOMCAT}\n[ "$n" -eq 0 ] || exit 1`,
    );
  });

  it('waits out the grace after TERM, then KILL', () => {
    const [action] = processStop.plan(processStop.params.parse({ match: TOMCAT, grace: '1m' }), ctx).actions;
    expect(execText(action)).toContain(
      `\n  kill -s TERM "$pid" 2>/dev/null\n  end=$(($(date +%s) + 60))\n  while alive "$pid" "$st" && [ "$(date +%s)" -le "$end" ]; do\n    sleep 0.2 2>/dev/null || sleep 1\n  done\n  if alive "$pid" "$st"; then\n    printf '%s: pid %s still runs %ss after %s; sending KILL\\n' process.stop "$pid" 60 TERM >&2\n    kill -s KILL "$pid" 2>/dev/null\n  fi\n  end=$(($(date +%s) + 10))\n`,
    );
  });

  it('reads a pidfile, filters by user, and may accept no process', () => {
    const p = processStop.params.parse({ pidfile: '/home/schedule/app.pid', user: 'app', missingOk: true });
    const text = execText(processStop.plan(p, ctx).actions[0]);
    expect(text).toContain(
      `\n  c=$(head -n 1 -- /home/schedule/app.pid 2>/dev/null | tr -d ' \\t\\r')\n  hits=\n  n=0\n  case $c in (''|*[!0-9]*) ;; (*) if ! ours "$c" && live "$c" && pgrep -u app | grep -qx "$c"; then hits=" $c"; n=1; fi;; esac\n`,
    );
    expect(text).toContain(
      `\n  elif [ ! -s "$d/pid" ]; then\n    printf '%s: nothing to do: no process matches %s\\n' process.stop 'the pid in /home/schedule/app.pid run by app' >&2\n    echo pid=\n    exit 0\n  fi\n`,
    );
  });

  it('keeps a hostile regex one quoted word', () => {
    const [action] = processStop.plan(
      processStop.params.parse({ match: "x'; touch /tmp/pwned" }),
      ctx,
    ).actions;
    expect(action?.type === 'exec' && action.cmd.render('exec')).toContain(
      `\n  pids=$(pgrep -f -- 'x'\\''; touch /tmp/pwned')\n`,
    );
  });

  it('undoes by running restart detached, then waits until it runs again', () => {
    const p = processStop.params.parse({
      match: TOMCAT,
      restart: 'bin/startup.sh',
      cwd: '/home/apache-tomcat-7.0.67',
    });
    const undo = processStop.compensate!(p, { pid: '4242', command: 'java ...' }, ctx);
    const launch = [
      `rm -f -- ${DIR}/restart.pid`,
      'cd /home/apache-tomcat-7.0.67 || exit 2',
      `CUTOVER_START=bin/startup.sh setsid sh -c 'echo "$$" > "$1"; s=$CUTOVER_START; unset CUTOVER_START; eval "$s"' sh ${DIR}/restart.pid < /dev/null >> ${DIR}/restart.log 2>&1 &`,
    ].join('\n');
    const alreadyRuns = `if [ "$n" -ge 1 ]; then\n  printf '%s undo: it already runs again (pid%s); not starting another\\n' process.stop "$hits" >&2\n  exit 0\nfi`;
    expect(commandsOf(undo)).toEqual([
      `d=${DIR}\n${FUNCTIONS}\n${FIND_TOMCAT}\n${alreadyRuns}\n${launch}`,
      'wait',
    ]);
    const wait = undo[1] as Action;
    expect(wait.type === 'wait' && wait.condition.kind === 'command' && String(wait.condition.cmd)).toBe(
      `d=${DIR}\n${FUNCTIONS}\n${FIND_TOMCAT}\ntail -n 2 ${DIR}/restart.log 2>/dev/null\necho "$n running"\n[ "$n" -ge 1 ]`,
    );
    // Nothing stopped (missingOk), or no restart script: nothing to undo.
    expect(processStop.compensate!(p, { pid: '' }, ctx)).toEqual([]);
    expect(
      processStop.compensate!(processStop.params.parse({ match: TOMCAT }), { pid: '4242' }, ctx),
    ).toEqual([]);
    // No outputs (the step failed before recording them): the step folder on the host decides.
    const unknown = processStop.compensate!(p, {}, ctx);
    const stoppedNothing = `if [ ! -s "$d/pid" ]; then\n  echo 'process.stop undo: this step stopped nothing; nothing to start' >&2\n  exit 0\nfi`;
    expect(commandsOf(unknown)).toEqual([
      `d=${DIR}\n${stoppedNothing}\n${FUNCTIONS}\n${FIND_TOMCAT}\n${alreadyRuns}\n${launch}`,
      'wait',
    ]);
    const unknownWait = unknown[1] as Action;
    expect(
      unknownWait.type === 'wait' &&
        unknownWait.condition.kind === 'command' &&
        String(unknownWait.condition.cmd),
    ).toMatch(/^d=\S+\nif \[ ! -s "\$d\/pid" \]; then\n {2}exit 0\nfi\nstat_of/);
  });

  it('validates its params', () => {
    expect(() => processStop.params.parse({})).toThrow(/exactly one of pidfile and match/);
    expect(() => processStop.params.parse({ match: 'x', pidfile: '/x' })).toThrow(
      /exactly one of pidfile and match/,
    );
    expect(() => processStop.params.parse({ match: 'java \\d+' })).toThrow(/POSIX extended/);
    expect(() => processStop.params.parse({ match: 'x', signal: 'STOPP' })).toThrow(/unknown signal/);
    const p = processStop.params.parse({ match: 'x' });
    expect([p.signal, p.grace, p.missingOk]).toEqual(['TERM', 30_000, false]);
  });
});

describe.each(SHELLS)('process.stop under %s, for real', (shell) => {
  const children: ChildProcess[] = [];
  let t: ReturnType<typeof tempDir> | undefined;
  let serial = 0;
  /** A `sleep` with a command line no other process has. */
  const startSleep = (tag: string): ChildProcess => {
    const child = spawn('sleep', [tag], { stdio: 'ignore' });
    children.push(child);
    return child;
  };
  const uniqueTag = () => `3600.${process.pid}${++serial}${Date.now() % 100000}`;
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    t?.remove();
  });
  const isRunning = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  };

  it('refuses an ambiguous match, listing both processes, and kills neither', () => {
    t = tempDir();
    const tag = uniqueTag();
    const a = startSleep(tag);
    const b = startSleep(tag);
    const p = processStop.params.parse({ match: `^sleep ${tag.replace('.', '\\.')}$`, signal: 'KILL' });
    const run = runActionsForReal(
      processStop.plan(p, testContext({ runDir: `${t.path}/run` })).actions,
      shell,
    );
    expect(run.ok).toBe(false);
    expect(run.last?.code).toBe(1);
    // The reason is the last line (a failed step's message), never a line of the listing.
    expect(run.last?.stderr.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(
        `^process\\.stop: 2 processes match /\\^sleep .*/, expected exactly one \\(pids (${a.pid} ${b.pid}|${b.pid} ${a.pid})\\): make the match more specific`,
      ),
    );
    expect(run.last?.stderr).toMatch(new RegExp(`\\b${a.pid}\\b.*sleep ${tag}`));
    expect(run.last?.stderr).toMatch(new RegExp(`\\b${b.pid}\\b.*sleep ${tag}`));
    expect(isRunning(a.pid!) && isRunning(b.pid!)).toBe(true);
  });

  it('fails, saying why, when something starts it again right away (a supervisor)', () => {
    t = tempDir();
    const tag = uniqueTag();
    const supervisor = spawn('sh', ['-c', `while :; do sleep ${tag}; done`], { stdio: 'ignore' });
    children.push(supervisor);
    const match = `^sleep ${tag.replace('.', '\\.')}$`;
    const p = processStop.params.parse({ match, signal: 'TERM', grace: '2s' });
    let run = runActionsForReal(processStop.plan(p, testContext({ runDir: `${t.path}/run` })).actions, shell);
    // The supervisor may not have started its first sleep yet: then nothing matched.
    while (!run.ok && /no process matches/.test(run.last?.stderr ?? ''))
      run = runActionsForReal(processStop.plan(p, testContext({ runDir: `${t.path}/run` })).actions, shell);
    expect(run.ok).toBe(false);
    const last = run.last?.stderr.trimEnd().split('\n').at(-1) ?? '';
    expect(last).toMatch(
      /^process\.stop: 1 process\(es\) still match \/\^sleep .*\/ after pid \d+ was stopped \(TERM, then KILL after 2 s\): pids \d+; something starts it again/,
    );
    expect(last).not.toMatch(/^\s*\d+ \S+ sleep/);
    supervisor.kill('SIGKILL');
    // Its last sleep, orphaned: found by its unique command line, killed by pid.
    for (const pid of spawnSync('pgrep', ['-f', '--', match], { encoding: 'utf8' }).stdout.split('\n'))
      if (pid) process.kill(Number(pid), 'SIGKILL');
  });

  it('stops the one match, records it, and the probe then says done', () => {
    t = tempDir();
    const tag = uniqueTag();
    const child = startSleep(tag);
    const c = testContext({ runDir: `${t.path}/run` });
    const planned = processStop.plan(
      processStop.params.parse({ match: `^sleep ${tag.replace('.', '\\.')}$` }),
      c,
    );
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(1);
    const run = runActionsForReal(planned.actions, shell);
    expect(run.last?.stderr).toBe('');
    expect(run.ok).toBe(true);
    expect(run.outputs).toEqual({ pid: String(child.pid), command: `sleep ${tag}` });
    expect(isRunning(child.pid!)).toBe(false);
    const probed = runForReal(planned.probe!.cmd, {}, shell);
    expect(probed.code).toBe(0);
    expect(probed.outputs).toEqual(run.outputs);
    // A retry after the stop succeeds with the same outputs instead of "no process matches".
    expect(runActionsForReal(planned.actions, shell).outputs).toEqual(run.outputs);
  });

  it('never matches its own shell, whose command line holds the pattern', () => {
    t = tempDir();
    const p = processStop.params.parse({ match: 'cutover-selftest.marker' });
    const run = runActionsForReal(
      processStop.plan(p, testContext({ runDir: `${t.path}/run` })).actions,
      shell,
    );
    expect(run.ok).toBe(false);
    expect(run.last?.stderr).toContain('no process matches /cutover-selftest.marker/; expected exactly one');
    const ok = processStop.params.parse({ match: 'cutover-selftest.marker', missingOk: true });
    const accepted = runActionsForReal(
      processStop.plan(ok, testContext({ runDir: `${t.path}/run2` })).actions,
      shell,
    );
    expect(accepted.ok).toBe(true);
    expect(accepted.outputs).toEqual({ pid: '' });
    expect(processStop.compensate!(ok, accepted.outputs, ctx)).toEqual([]);
  });

  it('sends KILL after the grace to a process that ignores TERM', () => {
    t = tempDir();
    const tag = `ignores-term-${uniqueTag()}`;
    const child = spawn('sh', ['-c', `trap '' TERM; while :; do sleep 0.1; done`, tag], { stdio: 'ignore' });
    children.push(child);
    const pidfile = `${t.path}/app.pid`;
    writeFileSync(pidfile, `${child.pid}\n`);
    const p = processStop.params.parse({ pidfile, grace: '1s' });
    const run = runActionsForReal(
      processStop.plan(p, testContext({ runDir: `${t.path}/run` })).actions,
      shell,
    );
    expect(run.ok).toBe(true);
    expect(run.last?.stderr).toContain(`pid ${child.pid} still runs 1s after TERM; sending KILL`);
    expect(isRunning(child.pid!)).toBe(false);
  });

  it('runs restart detached as its undo, and waits until it runs again', async () => {
    t = tempDir();
    const tag = uniqueTag();
    const pattern = `^sleep ${tag.replace('.', '\\.')}$`;
    const c = testContext({ runDir: `${t.path}/run` });
    startSleep(tag);
    const p = processStop.params.parse({ match: pattern, restart: `exec sleep ${tag}`, cwd: t.path });
    const run = runActionsForReal(processStop.plan(p, c).actions, shell);
    expect(run.ok).toBe(true);
    const [launch, wait] = processStop.compensate!(p, run.outputs, c);
    if (launch?.type !== 'exec' || wait?.type !== 'wait' || wait.condition.kind !== 'command')
      throw new Error('unexpected undo');
    expect(runForReal(launch.cmd, {}, shell).code).toBe(0);
    const deadline = Date.now() + 10_000;
    let polled = runForReal(wait.condition.cmd, {}, shell);
    while (polled.code !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      polled = runForReal(wait.condition.cmd, {}, shell);
    }
    expect(polled.stdout).toContain('1 running');
    const restarted = Number(readFileSync(`${t.path}/run/upgrade_step_web/restart.pid`, 'utf8'));
    expect(isRunning(restarted)).toBe(true);
    process.kill(restarted, 'SIGKILL');
    expect(existsSync(`${t.path}/run/upgrade_step_web/restart.log`)).toBe(true);
  });

  it('restarts from the step folder when the outputs were lost, and never starts a second one', async () => {
    t = tempDir();
    const tag = uniqueTag();
    const pattern = `^sleep ${tag.replace('.', '\\.')}$`;
    const c = testContext({ runDir: `${t.path}/run` });
    startSleep(tag);
    const p = processStop.params.parse({ match: pattern, restart: `exec sleep ${tag}` });
    expect(runActionsForReal(processStop.plan(p, c).actions, shell).ok).toBe(true);
    const [launch, wait] = processStop.compensate!(p, {}, c);
    if (launch?.type !== 'exec' || wait?.type !== 'wait' || wait.condition.kind !== 'command')
      throw new Error('unexpected undo');
    expect(runForReal(launch.cmd, {}, shell).code).toBe(0);
    const deadline = Date.now() + 10_000;
    while (runForReal(wait.condition.cmd, {}, shell).code !== 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const restarted = Number(readFileSync(`${t.path}/run/upgrade_step_web/restart.pid`, 'utf8'));
    expect(isRunning(restarted)).toBe(true);
    const again = runForReal(launch.cmd, {}, shell);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`it already runs again (pid ${restarted}); not starting another`);
    process.kill(restarted, 'SIGKILL');
  });

  it('fails with exit 2 when pgrep itself fails (a regex the host cannot read)', () => {
    t = tempDir();
    const p = processStop.params.parse({ match: 'a{1' });
    const run = runActionsForReal(
      processStop.plan(p, testContext({ runDir: `${t.path}/run` })).actions,
      shell,
    );
    expect(run.last?.code).toBe(2);
    expect(run.last?.stderr).toMatch(/process\.stop: pgrep failed \(exit [2-9]\) for \/a\{1\/\n$/);
  });

  it('with a user, ignores a pidfile naming another user’s process; missingOk makes that nothing to do', () => {
    t = tempDir();
    const child = startSleep(uniqueTag());
    const pidfile = `${t.path}/app.pid`;
    writeFileSync(pidfile, ` ${child.pid}\t\r\n`);
    const other = process.getuid?.() === 0 ? 'nobody' : 'root';
    const p = processStop.params.parse({ pidfile, user: other, missingOk: true });
    const run = runActionsForReal(
      processStop.plan(p, testContext({ runDir: `${t.path}/run` })).actions,
      shell,
    );
    expect(run.ok).toBe(true);
    expect(run.outputs).toEqual({ pid: '' });
    expect(run.last?.stderr).toBe(
      `process.stop: nothing to do: no process matches the pid in ${pidfile} run by ${other}\n`,
    );
    expect(isRunning(child.pid!)).toBe(true);
  });
});
