import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblem, InputError } from '../errors.js';
import { testKinds } from '../testing/step-kinds.js';
import { resolveParams, resolveSecrets } from './inputs.js';
import { parseRunbook } from './load.js';
import type { Runbook } from './model.js';

const dir = mkdtempSync(join(tmpdir(), 'cutover-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runbookOf(head: string): Runbook {
  const file = join(dir, 'rb.yml');
  const text = `name: x\n${head}phases: [{ hosts: all, steps: [{ test.run: { command: a } }] }]\n`;
  writeFileSync(file, text);
  const { runbook, problems } = parseRunbook(text, file, { kinds: testKinds });
  expect(problems.map(formatProblem)).toEqual([]);
  return runbook as Runbook;
}

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

async function asyncInputError(promise: Promise<unknown>): Promise<InputError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

const PARAMS = `params:
  instance: { type: string, pattern: '[A-Za-z0-9_-]+', default: cmw }
  version: { type: version, required: true, description: target version }
  replicas: { type: number, default: 2 }
  dry_run: { type: boolean }
  note: { type: string }
`;

describe('resolveParams', () => {
  it('types the given values and applies defaults', () => {
    const runbook = runbookOf(PARAMS);
    expect(resolveParams(runbook, { version: '5.0.23654.0', replicas: '3', dry_run: 'yes' })).toEqual({
      instance: 'cmw',
      version: '5.0.23654.0',
      replicas: 3,
      dry_run: true,
      note: '',
    });
    expect(resolveParams(runbook, { version: '5.1', dry_run: 'false' })).toMatchObject({
      replicas: 2,
      dry_run: false,
    });
  });

  it('reports every bad value at once, at the param declaration', () => {
    const runbook = runbookOf(PARAMS);
    const error = inputError(() =>
      resolveParams(runbook, {
        instance: 'x; touch /tmp/pwned',
        replicas: 'many',
        dry_run: 'maybe',
        verison: '5',
      }),
    );
    expect(error.problems.map(formatProblem)).toEqual([
      `${runbook.file}:3:3: params: unknown param "verison" given with -p. Did you mean "version"? The runbook declares: "instance", "version", "replicas", "dry_run", "note".`,
      `${runbook.file}:3:13: params/instance: instance must match [A-Za-z0-9_-]+ (the whole value), got "x; touch /tmp/pwned" (given with -p)`,
      `${runbook.file}:4:12: params/version: missing required param version (target version): pass -p version=VALUE`,
      `${runbook.file}:5:13: params/replicas: replicas must be a number, got "many" (given with -p)`,
      `${runbook.file}:6:12: params/dry_run: dry_run must be true or false, got "maybe" (given with -p)`,
    ]);
  });

  it('matches patterns against the whole value and versions against dotted digits', () => {
    const runbook = runbookOf(PARAMS);
    expect(() => resolveParams(runbook, { version: '5.0', instance: 'cmw extra' })).toThrow('must match');
    expect(inputError(() => resolveParams(runbook, { version: 'latest' })).message).toContain(
      'params/version: version must be a dotted version like 5.0.23654.0, got "latest" (given with -p)',
    );
  });

  it('needs a value for numbers and versions without a default', () => {
    const runbook = runbookOf('params:\n  port: { type: number }\n');
    expect(inputError(() => resolveParams(runbook, {})).message).toContain(
      'param port (number) has no value and no default: pass -p port=VALUE',
    );
  });
});

describe('resolveSecrets', () => {
  const SECRETS = `secrets:
  distr_password: { from: [{ env: CMW_DISTR_PASSWORD }, { file: ~/.cmw-pass }, { prompt: true }], description: distribution password }
  api_token: { from: [{ file: tokens/api }] }
`;

  it('tries the sources in order: env, then a file under ~, then the prompt', async () => {
    const runbook = runbookOf(SECRETS);
    const home = join(dir, 'home');
    mkdirSync(join(dir, 'tokens'), { recursive: true });
    mkdirSync(home, { recursive: true });
    writeFileSync(join(dir, 'tokens', 'api'), 'tok-123\n');

    const fromEnv = await resolveSecrets(runbook, { env: { CMW_DISTR_PASSWORD: 'from-env' }, homeDir: home });
    expect(fromEnv.distr_password?.reveal()).toBe('from-env');
    expect(fromEnv.api_token?.reveal()).toBe('tok-123');
    expect(String(fromEnv.distr_password)).toBe('<secret:distr_password>');

    writeFileSync(join(home, '.cmw-pass'), 'from-file\n');
    const fromFile = await resolveSecrets(runbook, { env: {}, homeDir: home });
    expect(fromFile.distr_password?.reveal()).toBe('from-file');

    rmSync(join(home, '.cmw-pass'));
    const asked: string[] = [];
    const fromPrompt = await resolveSecrets(runbook, {
      env: {},
      homeDir: home,
      prompt: async (name, description) => {
        asked.push(`${name}: ${description}`);
        return 'from-prompt';
      },
    });
    expect(fromPrompt.distr_password?.reveal()).toBe('from-prompt');
    expect(asked).toEqual(['distr_password: distribution password']);
  });

  it('names the sources it tried when none has a value, and refuses short values, never showing a value', async () => {
    const runbook = runbookOf(SECRETS);
    const error = await asyncInputError(
      resolveSecrets(runbook, {
        env: { CMW_DISTR_PASSWORD: '' },
        homeDir: join(dir, 'nohome'),
        readFile: () => 'Q7',
      }),
    );
    expect(error.problems.map(formatProblem)).toEqual([
      `${runbook.file}:3:19: secrets/distr_password: secret distr_password from file ~/.cmw-pass is shorter than 3 characters; such a value cannot be redacted safely, use the real secret`,
      `${runbook.file}:4:14: secrets/api_token: secret api_token from file tokens/api is shorter than 3 characters; such a value cannot be redacted safely, use the real secret`,
    ]);
    expect(error.message).not.toContain('Q7');

    const none = await asyncInputError(
      resolveSecrets(runbook, {
        env: {},
        homeDir: join(dir, 'nohome'),
        readFile: () => Promise.reject(Object.assign(new Error('gone'), { code: 'ENOENT' })),
      }),
    );
    expect(none.problems[0]?.message).toBe(
      `secret distr_password has no value: env CMW_DISTR_PASSWORD is not set; file ~/.cmw-pass does not exist (${join(dir, 'nohome', '.cmw-pass')}); no terminal to prompt on`,
    );
  });
});
