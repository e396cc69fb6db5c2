/**
 * Run-time inputs of a runbook: params given on the command line (`-p name=value`), typed and
 * checked, and secrets read from env, files or a prompt. Secret values never appear in any
 * message; only their names and sources do.
 */
import { readFile as readFileFs } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type InputProblem, InputError } from '../errors.js';
import { linearRegExp } from '../shared/regex.js';
import { Secret } from '../shell/secret.js';
import { CONTROL, describeChar, LIMITS } from '../source/limits.js';
import type { Loc } from '../source/loc.js';
import { didYouMean, listNames } from '../source/suggest.js';
import type { ParamSpec, Runbook, SecretSource } from './model.js';
import { looksLikeVersion } from './version.js';

/** A typed param value; text and versions are strings. Example: `'5.0.23654.0'`, `3`, `true`. */
export type ParamValue = string | number | boolean;

/**
 * Parses one param value given as text, by its spec. Returns the value or `{ error }`.
 * Example: checkParamValue('version', { type: 'version', required: true }, '5.0') -> '5.0'.
 */
export function checkParamValue(name: string, spec: ParamSpec, text: string): ParamValue | { error: string } {
  const control = CONTROL.exec(text) ?? /[\n\r]/.exec(text);
  if (control)
    return {
      error: `${name} holds the control character ${describeChar(control[0])}: a value is printed in the plan and run by the shell, so it must be plain text on one line`,
    };
  if (text.length > LIMITS.paramChars)
    return {
      error: `${name} is ${text.length} characters long; a param value is at most ${LIMITS.paramChars}`,
    };
  switch (spec.type) {
    case 'version':
      return looksLikeVersion(text)
        ? text
        : { error: `${name} must be a dotted version like 5.0.23654.0, got "${text}"` };
    case 'number': {
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n)
        ? n
        : { error: `${name} must be a number, got "${text}"` };
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', 'yes', '1'].includes(lower)) return true;
      if (['false', 'no', '0'].includes(lower)) return false;
      return { error: `${name} must be true or false, got "${text}"` };
    }
    default: {
      if (spec.pattern !== undefined && !linearRegExp(`^(?:${spec.pattern})$`).test(text)) {
        return { error: `${name} must match ${spec.pattern} (the whole value), got "${text}"` };
      }
      return text;
    }
  }
}

function locOf(runbook: Runbook, path: string): Loc {
  return runbook.sourceLocs?.[path] ?? { file: runbook.file, line: 1, col: 1 };
}

/**
 * Types and checks the params given with `-p name=value`; applies defaults. Optional params with
 * no default become '' (string) or false (boolean); numbers and versions need a value.
 * Throws InputError listing every problem. Example: resolveParams(runbook, { version: '5.0.23654.0' }) -> { instance: 'cmw', version: '5.0.23654.0' }.
 */
export function resolveParams(runbook: Runbook, given: Record<string, string>): Record<string, ParamValue> {
  const problems: InputProblem[] = [];
  const out: Record<string, ParamValue> = {};
  const declared = Object.keys(runbook.params);
  const fail = (path: string, message: string) =>
    problems.push({ ...locOf(runbook, path), path, message, severity: 'error' });
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(runbook.params, name)) {
      fail(
        'params',
        `unknown param "${name}" given with -p.${didYouMean(name, declared)} The runbook declares: ${listNames(declared)}.`,
      );
    }
  }
  for (const [name, spec] of Object.entries(runbook.params)) {
    const path = `params/${name}`;
    const text = Object.hasOwn(given, name)
      ? given[name]
      : spec.default !== undefined
        ? String(spec.default)
        : undefined;
    if (text === undefined) {
      if (spec.required)
        fail(
          path,
          `missing required param ${name}${spec.description ? ` (${spec.description})` : ''}: pass -p ${name}=VALUE`,
        );
      else if (spec.type === 'string') out[name] = '';
      else if (spec.type === 'boolean') out[name] = false;
      else fail(path, `param ${name} (${spec.type}) has no value and no default: pass -p ${name}=VALUE`);
      continue;
    }
    const value = checkParamValue(name, spec, text);
    if (typeof value === 'object')
      fail(path, `${value.error}${Object.hasOwn(given, name) ? ' (given with -p)' : ' (its default)'}`);
    else out[name] = value;
  }
  if (problems.length) throw new InputError(problems, 'Fix the -p values; nothing was changed on any host.');
  return out;
}

/** Where secrets come from; injectable for tests. Example: `{ env: process.env, readFile, prompt: askHidden }`. */
export interface SecretSources {
  env?: Readonly<Record<string, string | undefined>>;
  /** Reads a controller file; a missing file (ENOENT) means "try the next source". */
  readFile?: (path: string) => Promise<string> | string;
  /** Asks the operator without echo; undefined (or absent) when there is no terminal. */
  prompt?: (name: string, description?: string) => Promise<string | undefined>;
  /** For `~/` in file sources; default: the user's home. */
  homeDir?: string;
}

/** The shortest secret accepted (shorter values would make redaction blank out ordinary text). Example: 'abc' is the shortest. */
export const MIN_SECRET_LENGTH = 3;

/**
 * Reads every declared secret from its sources, in order; the first that has a value wins.
 * Throws InputError naming the secret and the sources tried (never a value).
 * Example: await resolveSecrets(runbook, { env: { CMW_DISTR_PASSWORD: '...' } }) -> { distr_password: Secret }.
 */
export async function resolveSecrets(
  runbook: Runbook,
  sources: SecretSources = {},
): Promise<Record<string, Secret>> {
  const env = sources.env ?? process.env;
  const readFile = sources.readFile ?? ((path: string) => readFileFs(path, 'utf8'));
  const home = sources.homeDir ?? homedir();
  const problems: InputProblem[] = [];
  const out: Record<string, Secret> = {};
  for (const [name, spec] of Object.entries(runbook.secrets)) {
    const path = `secrets/${name}`;
    const tried: string[] = [];
    let found: { value: string; from: string } | undefined;
    for (const source of spec.from) {
      const attempt = await trySource(source, {
        env,
        readFile,
        home,
        runbookDir: dirname(runbook.file),
        prompt: sources.prompt,
        name,
        description: spec.description,
      });
      tried.push(attempt.note);
      if (attempt.value !== undefined) {
        found = { value: attempt.value, from: attempt.from };
        break;
      }
    }
    if (!found) {
      problems.push({
        ...locOf(runbook, path),
        path,
        message: `secret ${name} has no value: ${tried.join('; ')}`,
        severity: 'error',
      });
    } else if (found.value.length < MIN_SECRET_LENGTH) {
      problems.push({
        ...locOf(runbook, path),
        path,
        message: `secret ${name} from ${found.from} is shorter than ${MIN_SECRET_LENGTH} characters; such a value cannot be redacted safely, use the real secret`,
        severity: 'error',
      });
    } else out[name] = new Secret(name, found.value);
  }
  if (problems.length)
    throw new InputError(
      problems,
      'Provide each secret through one of its sources (env, file or an interactive prompt); nothing was changed on any host.',
    );
  return out;
}

async function trySource(
  source: SecretSource,
  ctx: {
    env: Readonly<Record<string, string | undefined>>;
    readFile: (path: string) => Promise<string> | string;
    home: string;
    runbookDir: string;
    prompt: SecretSources['prompt'];
    name: string;
    description: string | undefined;
  },
): Promise<{ value?: string; from: string; note: string }> {
  if ('env' in source) {
    const value = ctx.env[source.env];
    const from = `env ${source.env}`;
    return value ? { value, from, note: `${from} is set` } : { from, note: `${from} is not set` };
  }
  if ('file' in source) {
    const from = `file ${source.file}`;
    const path = source.file.startsWith('~/')
      ? resolve(ctx.home, source.file.slice(2))
      : isAbsolute(source.file)
        ? source.file
        : resolve(ctx.runbookDir, source.file);
    try {
      const value = (await ctx.readFile(path)).replace(/\r?\n$/, '');
      return value ? { value, from, note: `${from} was read` } : { from, note: `${from} is empty` };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { from, note: `${from} does not exist (${path})` };
      return { from, note: `${from} cannot be read (${code ?? 'error'})` };
    }
  }
  const from = 'the prompt';
  if (!ctx.prompt) return { from, note: 'no terminal to prompt on' };
  const value = await ctx.prompt(ctx.name, ctx.description);
  return value ? { value, from, note: 'prompted' } : { from, note: 'the prompt got no value' };
}
