/**
 * Controller files a plan reads (file.upload's src): hashed into the plan, and held to two rules.
 * A path is read only when it is a regular file (never /dev/zero, a FIFO or a folder). A path built
 * from a template may not leave the folder its literal text names: the runbook's folder for a
 * relative path, the literal directory before the first `{{` for an absolute one — so a param
 * holding `../../etc/shadow` cannot make `plan` read and hash any file of the controller. Only
 * templates that use params (directly or through a var) are confined: the runbook and the
 * inventory are the author's own files, params are whatever the command line says.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import type { InputProblem } from '../errors.js';
import { renderTemplate, type TemplateScope } from '../runbook/template.js';
import { staticValue } from '../shell/word.js';
import { stepKinds } from '../steps/index.js';
import type { StepKind } from '../steps/kind.js';
import type { PlannedStep } from './types.js';

/**
 * sha256 of every controller file the steps read, by absolute path; problems for unreadable or
 * irregular ones. `known` files (a run rebuilt from its journal) are taken as given, not read.
 */
export function hashLocalFiles(
  steps: PlannedStep[],
  dir: string,
  problems: InputProblem[],
  known: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const localFiles: Record<string, string> = {};
  const failed = new Set<string>();
  for (const step of steps) {
    const kind = stepKinds.get(step.kind) as StepKind<unknown>;
    for (const file of kind.localFiles?.(step.params) ?? []) {
      const abs = isAbsolute(file) ? file : resolve(dir, file);
      if (abs in localFiles || failed.has(abs)) continue;
      const sha = known[abs];
      if (sha !== undefined) {
        localFiles[abs] = sha;
        continue;
      }
      try {
        localFiles[abs] = hashRegularFile(abs);
      } catch (e) {
        failed.add(abs);
        problems.push({
          ...step.loc,
          path: `${step.phase}/${step.stepId}`,
          message: `cannot read ${abs} on the controller for host ${step.host}: ${(e as Error).message}`,
          severity: 'error',
        });
      }
    }
  }
  return localFiles;
}

/** Hashes a regular file in 1 MiB chunks (constant memory); anything else is refused before it is read. */
export function hashRegularFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    if (!fstatSync(fd).isFile())
      throw new Error('not a regular file (a device, FIFO, socket or folder is never uploaded)');
    const hash = createHash('sha256');
    const buffer = Buffer.alloc(1 << 20);
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/**
 * Throws when a controller file built from a template leaves the folder its literal text names.
 * `raw`: the step's params as written (templates unrendered). Example: src "dist/{{ params.svc }}.tar"
 * with svc="../../etc/shadow" -> refused; src "/srv/artifacts/{{ params.svc }}.tar" stays under /srv/artifacts.
 */
export function confineLocalFiles(
  kind: StepKind<unknown>,
  params: unknown,
  raw: Record<string, unknown>,
  scope: TemplateScope,
  dir: string,
): void {
  if (!kind.localFiles) return;
  // Params come from whoever runs the command (-p); the runbook and inventory are the author's own.
  const vars = (scope.vars ?? {}) as Record<string, unknown>;
  const fromParams = (t: string) =>
    /\bparams\./.test(t) ||
    [...t.matchAll(/\bvars\.([A-Za-z0-9_]+)/g)].some((m) =>
      /\bparams\./.test(String(vars[m[1] as string] ?? '')),
    );
  const templates = Object.values(raw).filter(
    (v): v is string => typeof v === 'string' && v.includes('{{') && fromParams(v),
  );
  for (const file of kind.localFiles(params)) {
    const template = templates.find((t) => staticValue(renderTemplate(t, scope)) === file);
    if (template === undefined) continue; // written literally: the author's own path
    const literal = template.slice(0, template.indexOf('{{'));
    const base = isAbsolute(literal)
      ? literal.slice(0, literal.lastIndexOf('/') + 1) || '/'
      : resolve(dir, literal.slice(0, literal.lastIndexOf('/') + 1));
    const abs = isAbsolute(file) ? resolve(file) : resolve(dir, file);
    const root = resolve(base);
    if (abs !== root && !abs.startsWith(root.endsWith(sep) ? root : root + sep))
      throw new Error(
        `the controller file ${JSON.stringify(file)} is built from a template and leaves ${root}; a template value may only name a file inside the folder written before it (write an absolute path literally to read elsewhere)`,
      );
  }
}
