/** The controller side of a file edit: back up once, fetch, apply the pure edit, diff, put, validate or restore. */
import { createHash } from 'node:crypto';
import { sh } from '../shell/command.js';
import { applyEdit, unifiedDiff } from '../steps/edits/index.js';
import type { Action } from '../steps/kind.js';
import { ActionFailed, type ActionEnv, execOnHost, failure, resolveWord } from './env.js';

/**
 * Edits of one file on one host run one at a time: several hosts' drains may edit a balancer's one
 * file at once (fetch, change, put), and interleaved they would lose each other's change.
 */
const fileQueues = new Map<string, Promise<unknown>>();

export async function runEdit(action: Extract<Action, { type: 'edit' }>, env: ActionEnv): Promise<void> {
  const named = await resolveWord(action.path, env);
  const key = `${action.on ?? env.host}\u0000${named}`;
  const before = fileQueues.get(key) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => editOnce(action, env, named));
  fileQueues.set(key, mine);
  try {
    await mine;
  } finally {
    if (fileQueues.get(key) === mine) fileQueues.delete(key);
  }
}

async function editOnce(
  action: Extract<Action, { type: 'edit' }>,
  env: ActionEnv,
  named: string,
): Promise<void> {
  // Edit the file a symlink points at (Debian's sites-enabled): replacing the link would break it.
  const real = await execOnHost(sh`readlink -f -- ${named}`, env, { quiet: true });
  const path = real.code === 0 && real.stdout.trim() ? real.stdout.trim() : named;
  const backup = action.backupPath;
  // Keep the very first original: a retried or resumed edit must not back up its own output.
  const saved = await execOnHost(
    sh`if [ -e ${backup} ]; then echo kept; else mkdir -p "$(dirname ${backup})" && cp -p -- ${path} ${backup} && echo saved; fi`,
    env,
  );
  if (saved.code !== 0)
    throw new ActionFailed(`cannot back up ${path}`, failure(sh`cp -p -- ${path} ${backup}`, saved));
  const before = await readText(path, env);
  // A re-run of an edit that records its result starts again from the first original, so an edit
  // that is not idempotent on its own output (s/a/ab/) still happens once.
  const again = action.resultPath !== undefined && saved.stdout.trim() === 'kept';
  const base = again ? await readText(backup, env) : before;
  let after: string;
  try {
    after = applyEdit(base, action.spec);
  } catch (e) {
    throw new ActionFailed(`cannot edit ${path} on ${env.host}: ${(e as Error).message}`);
  }
  if (again && before !== base && before !== after)
    throw new ActionFailed(
      `${path} on ${env.host} changed since this step backed it up (it is neither the original kept at ${backup} nor the edit of it); cutover does not edit it again: compare the two by hand`,
    );
  // On a balancer (`on`), each balancer's edit keeps its own outputs.
  const suffix = action.on !== undefined ? `_${action.on}` : '';
  env.outputs[`backup${suffix}`] = backup;
  env.outputs[`path${suffix}`] = path;
  const record = async () => {
    if (action.resultPath === undefined) return;
    const sha = createHash('sha256').update(Buffer.from(after, 'utf8')).digest('hex');
    const res = await execOnHost(sh`printf '%s\n' ${sha} > ${action.resultPath}`, env, { quiet: true });
    if (res.code !== 0)
      throw new ActionFailed(
        `cannot record the edit of ${path} at ${action.resultPath}`,
        failure(sh`printf '%s\n' ${sha} > ${action.resultPath}`, res),
      );
  };
  if (after === before) {
    await record();
    env.emit({
      type: 'step.output',
      step: env.stepId,
      host: env.host,
      stream: 'stdout',
      text: `${path}: already as wanted\n`,
    });
    return;
  }
  env.emit({
    type: 'step.output',
    step: env.stepId,
    host: env.host,
    stream: 'stdout',
    text: unifiedDiff(before, after, path),
  });
  const mode = (await execOnHost(sh`stat -c %a -- ${path}`, env, { quiet: true })).stdout.trim();
  await env.session.put(Buffer.from(after, 'utf8'), path, /^[0-7]{3,4}$/.test(mode) ? { mode } : {});
  if (action.validate) {
    const res = await execOnHost(action.validate, env);
    if (res.code !== 0) {
      const restore = await execOnHost(
        sh`cp -p -- ${backup} ${`${path}.cutover-tmp`} && mv -f -- ${`${path}.cutover-tmp`} ${path}`,
        env,
      );
      // Put back here and never applied: nothing is left for the undo to do (an undo would only
      // validate the same file again and report a failure about a file that is as it was).
      if (restore.code === 0) delete env.outputs[`backup${suffix}`];
      throw new ActionFailed(
        `validation failed after editing ${path}; the original was ${restore.code === 0 ? 'restored' : 'NOT restored (see backup)'}: ${String(action.validate)} said: ${(res.stderr.trim() || res.stdout.trim() || `exit ${res.code}`).split('\n').slice(-2).join(' | ')}`,
        failure(action.validate, res),
      );
    }
  }
  await record();
}

/**
 * A host file as text, refused when it is not UTF-8: decoding would replace its bytes, and the
 * edit would not be byte-exact anywhere else in the file.
 */
async function readText(path: string, env: ActionEnv): Promise<string> {
  const raw = await env.session.get(path);
  const text = raw.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(raw))
    throw new ActionFailed(
      `${path} on ${env.host} is not UTF-8 text; cutover edits only UTF-8 files (every other byte must stay as it is): convert it or edit it with a shell.run step`,
    );
  return text;
}
