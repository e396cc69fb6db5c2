// Runtime helpers shared by the simulators that run inside lab hosts (plain Node ESM, no packages).
import fs from 'node:fs';
import path from 'node:path';

/** Where `cutover lab fault HOST KNOB [VALUE]` leaves its knobs inside a host. */
export const FAULT_DIR = '/etc/lab/faults';

/**
 * A fault knob's value: undefined when off, the trimmed file content ('' when empty) when on.
 * Example: fault('slow-start') -> '7' after `cutover lab fault web slow-start 7`.
 */
export function fault(name) {
  try {
    return fs.readFileSync(path.join(FAULT_DIR, name), 'utf8').trim();
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Extra seconds of the `slow-start` knob (default 5 when set without a value). Example: slowStartMs() -> 5000. */
export function slowStartMs() {
  const value = fault('slow-start');
  if (value === undefined) return 0;
  const seconds = value === '' ? 5 : Number(value);
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0;
}

/**
 * The `hold-start` barrier: a process that starts while the knob is set writes its pid to
 * `hold-start.held` beside the knob and does not complete its startup until a test clears the knob.
 * Tests use it to hold a node "in flight" for exactly as long as they need, with no timing.
 * Example: await holdStart((line) => log('INFO', line)).
 */
export async function holdStart(log) {
  if (fault('hold-start') === undefined) return;
  const marker = path.join(FAULT_DIR, 'hold-start.held');
  fs.writeFileSync(marker, `${process.pid}\n`);
  log('startup held until the lab fault hold-start is cleared');
  while (fault('hold-start') !== undefined) await sleep(20);
  fs.rmSync(marker, { force: true });
  log('lab fault hold-start cleared; startup goes on');
}

/**
 * The host clock. LAB_CLOCK_OFFSET_MS shifts it (tests only: it lets a test cross midnight
 * without waiting a day; the lab never sets it). Example: hostNow() -> Date.
 */
export function hostNow() {
  return new Date(Date.now() + (Number(process.env.LAB_CLOCK_OFFSET_MS) || 0));
}

/** A non-negative number from the environment, or the default. Example: envMs('CMW_LOAD_MS', 1000). */
export function envMs(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`${name}=${raw} is not a number of milliseconds; using ${fallback}\n`);
    return fallback;
  }
  return n;
}

/** Example: await sleep(200). */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Appends one line, creating the folder first (log folders may have been removed by an operator). */
export function appendLine(file, line) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, `${line}\n`);
}

/**
 * Keeps the process alive when its stdout/stderr reader goes away (an SSH session that
 * started it ended): the JVM and .NET runtimes ignore such write errors too.
 */
export function surviveClosedOutput() {
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
}

/** Writes to stdout, ignoring a closed reader. Example: say('Tomcat started.'). */
export function say(text) {
  try {
    process.stdout.write(`${text}\n`);
  } catch {
    // The reader is gone; the files are the record.
  }
}

/**
 * Handles SIGTERM/SIGINT: when the `ignore-term` knob is set at the moment the signal arrives,
 * calls onIgnored and keeps running; otherwise calls onTerm (which exits).
 * Example: handleTermination({ onTerm: (sig) => stop(sig), onIgnored: (sig) => log(sig) }).
 */
export function handleTermination({ onTerm, onIgnored }) {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      if (fault('ignore-term') !== undefined) {
        onIgnored(signal);
        return;
      }
      if (stopping) return;
      stopping = true;
      onTerm(signal);
    });
  }
}

/**
 * Parses `--key=value` / `-k=value` arguments (the style of the seed's scripts).
 * Example: parseOptions(['--instance=cmw']) -> { instance: 'cmw' }.
 */
export function parseOptions(argv) {
  const options = {};
  for (const arg of argv) {
    const m = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/.exec(arg);
    if (m) options[m[1]] = m[2] ?? 'true';
  }
  return options;
}

/**
 * Compares 4-part versions numerically. Example: compareVersions('5.0.23654.0', '5.0.9999.0') -> 1.
 */
export function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** Reads a small text file, or undefined when it does not exist. Example: readText('/x/version'). */
export function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'EISDIR') return undefined;
    throw err;
  }
}

/** Example: exists('/var/lib/comindware/cmw/Database/hold.lock') -> true. */
export function exists(file) {
  return fs.existsSync(file);
}
