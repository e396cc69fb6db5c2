import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../shell/secret.js';
import { Expanded, TemplatedWord } from '../shell/word.js';
import { processStart } from './process-start.js';
import { processStop } from './process-stop.js';
import type { Action } from './kind.js';
import { runActionsForReal, runForReal, SHELLS, tempDir, testContext } from './test-support.js';

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
const SESSION_LIVE = [
  'session_live() {',
  '  z=$1',
  '  shift',
  '  for c in $(pgrep -s "$z" "$@"); do',
  '    if live "$c"; then',
  '      return 0',
  '    fi',
  '  done',
  '  return 1',
  '}',
].join('\n');
const MATCH = 'java .*schedule';
const FIND = [
  `pids=$(pgrep -f -- '${MATCH}')`,
  'rc=$?',
  'if [ "$rc" -gt 1 ]; then',
  `  printf '%s: pgrep failed (exit %s) for /%s/\\n' process.start "$rc" '${MATCH}' >&2`,
  '  exit 2',
  'fi',
  'hits=',
  'n=0',
].join('\n');
const execText = (a: Action | undefined) => (a?.type === 'exec' ? String(a.cmd) : '');

describe('process.start', () => {
  it('starts detached in its own session and records the pid', () => {
    const p = processStart.params.parse({
      command: 'nohup sh startup.sh',
      cwd: '/home/schedule',
      log: '/home/schedulelog/nohup.out',
      match: MATCH,
    });
    const planned = processStart.plan(p, ctx);
    expect(planned.actions).toHaveLength(1);
    expect(planned.actions[0]).toMatchObject({ type: 'exec', capture: { keyValues: true } });
    const text = execText(planned.actions[0]);
    expect(
      text.startsWith(
        `d=${DIR}\nmkdir -p -- "$d" || exit 2\n${FUNCTIONS}\n${SESSION_LIVE}\nif [ -s "$d/pid" ] && session_live "$(cat "$d/pid")"; then\n`,
      ),
    ).toBe(true);
    expect(text).toContain(`\n${FIND}\n`);
    expect(text).toContain(
      [
        '',
        `rm -f -- ${DIR}/pid`,
        'cd /home/schedule || exit 2',
        `CUTOVER_START='nohup sh startup.sh' setsid sh -c 'echo "$$" > "$1"; s=$CUTOVER_START; unset CUTOVER_START; eval "$s"' sh ${DIR}/pid < /dev/null >> /home/schedulelog/nohup.out 2>&1 &`,
        'i=0',
        'while [ ! -s "$d/pid" ] && [ "$i" -lt 50 ]; do',
        '',
      ].join('\n'),
    );
    expect(text.endsWith(`\nprintf 'pid=%s\\n' "$(cat "$d/pid")"`)).toBe(true);
    expect(String(planned.probe?.cmd)).toMatch(
      new RegExp(
        `^d=${DIR}\\nif \\[ -s "\\$d/pid" \\]; then\\n  printf 'pid=%s\\\\n' "\\$\\(cat "\\$d/pid"\\)"\\nfi\\nstat_of[^]*\\nhits=\\nn=0\\n[^]*\\n\\[ "\\$n" -ge 1 \\]$`,
      ),
    );
  });

  it('quotes expanded values inside the detached script, and reads secret env on stdin', () => {
    const command = new TemplatedWord(['bash run.sh -n=', new Expanded("x'; touch /tmp/pwned")]);
    const planned = processStart.plan(
      processStart.params.parse({ command, env: { PW: new Secret('pw', 's3cr3t') } }),
      ctx,
    );
    const [action] = planned.actions;
    if (action?.type !== 'exec') throw new Error('expected exec');
    expect(action.cmd.render('exec')).toContain(
      `\nrm -f -- ${DIR}/pid\nIFS= read -r PW && export PW || exit 2\nCUTOVER_START='bash run.sh -n='\\''x'\\''\\'\\'''\\''; touch /tmp/pwned'\\''' setsid sh -c 'echo "$$" > "$1"; s=$CUTOVER_START; unset CUTOVER_START; eval "$s"' sh ${DIR}/pid < /dev/null >> /dev/null 2>&1 &\n`,
    );
    expect(action.cmd.render('exec')).not.toContain('s3cr3t');
    expect(action.cmd.stdinText()).toBe('s3cr3t\n');
    expect(String(planned.probe?.cmd)).toBe(
      `d=${DIR}\n[ -s "$d/pid" ] || exit 1\nsid=$(cat "$d/pid")\nprintf 'pid=%s\\n' "$sid"\n${FUNCTIONS}\n${SESSION_LIVE}\nsession_live "$sid"`,
    );
  });

  it('undoes by stopping its session, guarded by match', () => {
    const p = processStart.params.parse({ command: 'sh startup.sh', match: MATCH, grace: '10s' });
    const undo = processStart.compensate!(p, { pid: '4242' }, ctx);
    expect(undo).toHaveLength(1);
    const text = execText(undo[0]);
    expect(text.startsWith(`sid=4242\n${FUNCTIONS}\n${SESSION_LIVE}\nif ! session_live "$sid"; then\n`)).toBe(
      true,
    );
    expect(text).toContain(
      `\nif ! session_live "$sid" -f -- '${MATCH}'; then\n  printf '%s: session %s runs nothing matching /%s/; left alone\\n' process.start "$sid" '${MATCH}' >&2\n  exit 0\nfi\npkill -TERM -s "$sid"\nend=$(($(date +%s) + 10))\n`,
    );
    // No recorded pid (the step failed before recording it): the pid file in the step folder decides.
    const [unknown] = processStart.compensate!(p, {}, ctx);
    expect(execText(unknown)).toMatch(
      new RegExp(
        `^sid=\\$\\(cat ${DIR}/pid 2>/dev/null\\)\\nif \\[ -z "\\$sid" \\]; then\\n  printf '%s undo: this step started nothing\\\\n' process.start >&2\\n  exit 0\\nfi\\nstat_of`,
      ),
    );
  });

  it('refuses secrets in the command line', () => {
    const command = new TemplatedWord(['run --password=', new Secret('pw', 'x')]);
    expect(() => processStart.params.parse({ command })).toThrow(/must not hold a secret/);
  });
});

/** Live (non-zombie) processes whose full command line matches, as pgrep -f sees them. */
function matching(match: string): number[] {
  const res = spawnSync('pgrep', ['-f', '--', match], { encoding: 'utf8' });
  return res.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
      } catch {
        return false;
      }
    });
}

describe.each(SHELLS)('process.start under %s, for real', (shell) => {
  let t: ReturnType<typeof tempDir> | undefined;
  const started: number[] = [];
  afterEach(() => {
    for (const pid of started.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    t?.remove();
  });

  it('survives the shell that started it, never starts twice, and the undo stops it', () => {
    t = tempDir();
    const tag = `3600.${process.pid}${Date.now() % 100000}`;
    const match = `^sleep ${tag.replace('.', '\\.')}$`;
    const p = processStart.params.parse({
      command: `printf '%s' "$PW" > ${t.path}/seen; echo started; exec sleep ${tag}`,
      cwd: t.path,
      log: `${t.path}/app.log`,
      env: { PW: new Secret('pw', "s3 cr'et") },
      match,
      grace: '5s',
    });
    const c = testContext({ runDir: `${t.path}/run` });
    const planned = processStart.plan(p, c);
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(1);
    const run = runActionsForReal(planned.actions, shell);
    expect(run.last?.stderr).toBe('');
    expect(run.ok).toBe(true);
    const pid = Number(run.outputs.pid);
    started.push(pid);
    expect(pid).toBeGreaterThan(1);
    // Its own session (pid = session id) and still alive after the starting shell exited.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(fields[0]).not.toBe('Z');
    expect(fields[3]).toBe(String(pid));
    expect(readFileSync(`${t.path}/seen`, 'utf8')).toBe("s3 cr'et");
    expect(readFileSync(`${t.path}/app.log`, 'utf8')).toBe('started\n');

    const deadline = Date.now() + 10_000;
    let probed = runForReal(planned.probe!.cmd, {}, shell);
    while (probed.code !== 0 && Date.now() < deadline) probed = runForReal(planned.probe!.cmd, {}, shell);
    expect(probed.code).toBe(0);
    // A retry finds the first start; a fresh step finds it running: done, no second instance, no undo.
    expect(runActionsForReal(planned.actions, shell).outputs).toEqual({ pid: String(pid) });
    const second = runActionsForReal(
      processStart.plan(p, testContext({ runDir: `${t.path}/run2` })).actions,
      shell,
    );
    expect(second.ok).toBe(true);
    expect(second.outputs).toEqual({ pid: '', running: String(pid) });
    expect(second.last?.stderr.trimEnd().split('\n').at(-1)).toBe(
      `process.start: nothing to do: already running (pid ${pid} matches /${match}/); not starting a second instance, and the undo will not stop it`,
    );
    expect(matching(match)).toEqual([pid]);
    expect(processStart.compensate!(p, second.outputs, testContext({ runDir: `${t.path}/run2` }))).toEqual(
      [],
    );

    const undo = runActionsForReal(processStart.compensate!(p, run.outputs, c), shell);
    expect(undo.ok).toBe(true);
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(1);
  });

  it('works as a pair: start, start again (done), stop (the one it started), start again (a new one)', () => {
    t = tempDir();
    const tag = `3600.${process.pid}${Date.now() % 100000}`;
    const match = `sleep ${tag.replace('.', '\\.')}`;
    const start = processStart.params.parse({ command: `sleep ${tag}; true`, cwd: t.path, match });
    const stop = processStop.params.parse({ match, signal: 'TERM', grace: '5s' });
    const startIn = (dir: string) =>
      runActionsForReal(
        processStart.plan(start, testContext({ runDir: `${t?.path}/${dir}` })).actions,
        shell,
      );
    const first = startIn('a');
    expect(first.ok).toBe(true);
    started.push(Number(first.outputs.pid));
    const again = startIn('b');
    expect(again).toMatchObject({ ok: true, outputs: { pid: '' } });
    expect(matching(match)).toHaveLength(1);
    const stopped = runActionsForReal(
      processStop.plan(stop, testContext({ runDir: `${t.path}/stop` })).actions,
      shell,
    );
    expect(stopped.ok, stopped.last?.stderr).toBe(true);
    expect(matching(match)).toEqual([]);
    const third = startIn('c');
    expect(third.ok).toBe(true);
    started.push(Number(third.outputs.pid));
    expect(third.outputs.pid).not.toBe(first.outputs.pid);
    expect(matching(match)).toHaveLength(1);
  });

  it('process.stop with an unanchored match finds what process.start started, not its launcher too', () => {
    t = tempDir();
    const tag = `3600.${process.pid}${Date.now() % 100000}`;
    // No `exec`: the launcher's sh stays the parent, and its command line holds the script text.
    const p = processStart.params.parse({ command: `sleep ${tag}; true`, cwd: t.path });
    const run = runActionsForReal(
      processStart.plan(p, testContext({ runDir: `${t.path}/run` })).actions,
      shell,
    );
    expect(run.ok).toBe(true);
    started.push(Number(run.outputs.pid));
    const stop = processStop.params.parse({ match: `sleep ${tag.replace('.', '\\.')}`, signal: 'TERM' });
    const stopped = runActionsForReal(
      processStop.plan(stop, testContext({ runDir: `${t.path}/stop` })).actions,
      shell,
    );
    expect(stopped.last?.stderr ?? '').not.toContain('processes match');
    expect(stopped.ok).toBe(true);
  });

  it('the undo sends KILL after the grace to a session that ignores TERM', () => {
    t = tempDir();
    const p = processStart.params.parse({
      command: `trap '' TERM; while :; do sleep 0.1; done`,
      grace: '1s',
    });
    const c = testContext({ runDir: `${t.path}/run` });
    const run = runActionsForReal(processStart.plan(p, c).actions, shell);
    expect(run.ok).toBe(true);
    const pid = Number(run.outputs.pid);
    started.push(pid);
    const undo = runActionsForReal(processStart.compensate!(p, run.outputs, c), shell);
    expect(undo.ok).toBe(true);
    expect(undo.last?.stderr).toBe(`process.start: session ${pid} still runs 1s after TERM; sending KILL\n`);
    expect(runActionsForReal(processStart.compensate!(p, run.outputs, c), shell).last).toMatchObject({
      code: 0,
      stderr: `process.start: nothing of session ${pid} runs any more\n`,
    });
  });

  it('the undo leaves a session alone that runs nothing matching, and knows when it started nothing', () => {
    t = tempDir();
    const tag = `3600.${process.pid}${Date.now() % 100000}`;
    const p = processStart.params.parse({
      command: `exec sleep ${tag}`,
      match: '^no-such-program$',
      grace: '1s',
    });
    const c = testContext({ runDir: `${t.path}/run` });
    const run = runActionsForReal(processStart.plan(p, c).actions, shell);
    expect(run.ok).toBe(true);
    const pid = Number(run.outputs.pid);
    started.push(pid);
    const undo = runActionsForReal(processStart.compensate!(p, run.outputs, c), shell);
    expect(undo.last).toMatchObject({
      code: 0,
      stderr: `process.start: session ${pid} runs nothing matching /^no-such-program$/; left alone\n`,
    });
    expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toContain(`(sleep)`);
    const nothing = runActionsForReal(
      processStart.compensate!(p, {}, testContext({ runDir: `${t.path}/other` })),
      shell,
    );
    expect(nothing.last).toMatchObject({
      code: 0,
      stderr: 'process.start undo: this step started nothing\n',
    });
  });
});
