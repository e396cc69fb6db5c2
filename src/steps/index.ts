import type { z } from 'zod';
import { archiveExtract } from './archive-extract.js';
import { backupCopy } from './backup-copy.js';
import { balancerCommands, haproxyCheck, haproxyDrain, nginxUpstream } from './balancer.js';
import { fileDownload } from './file-download.js';
import { fileRemove } from './file-remove.js';
import { fileUpload } from './file-upload.js';
import { gateConfirm } from './gate-confirm.js';
import { httpRequest } from './http-request.js';
import type { StepKind } from './kind.js';
import { nginxRoute } from './nginx-route.js';
import { processStart } from './process-start.js';
import { processStop } from './process-stop.js';
import { serviceRestart, serviceStart, serviceStop } from './service.js';
import { shellRun } from './shell-run.js';
import { waitFile } from './wait-file.js';
import { waitHttp } from './wait-http.js';
import { waitLog } from './wait-log.js';
import { textEdit } from './text-edit.js';
import { waitCommand } from './wait-command.js';
import { yamlEdit } from './yaml-edit.js';

/** Any kind: each has its own param type, and `plan(params: P)` makes them incompatible with `StepKind<unknown>`. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds kinds of every param type
type AnyKind = StepKind<any>;

/**
 * Every kind under its name (`domain.verb`), in the order `cutover docs` lists them. Typed, so
 * code that writes steps (the importer's drafts) can name a kind and its params only as they
 * exist: `StepParamsInput<'backup.copy'>` is `{ src, dest, overwrite? }`. index.test.ts checks
 * each key is its kind's name.
 */
export const stepKindRegistry = {
  'shell.run': shellRun,
  'file.upload': fileUpload,
  'file.download': fileDownload,
  'file.remove': fileRemove,
  'archive.extract': archiveExtract,
  'backup.copy': backupCopy,
  'service.stop': serviceStop,
  'service.start': serviceStart,
  'service.restart': serviceRestart,
  'process.stop': processStop,
  'process.start': processStart,
  'yaml.edit': yamlEdit,
  'text.edit': textEdit,
  'nginx.route': nginxRoute,
  'haproxy.drain': haproxyDrain,
  'haproxy.check': haproxyCheck,
  'nginx.upstream': nginxUpstream,
  'balancer.commands': balancerCommands,
  'wait.log': waitLog,
  'wait.http': waitHttp,
  'wait.file': waitFile,
  'wait.command': waitCommand,
  'http.request': httpRequest,
  'gate.confirm': gateConfirm,
} as const satisfies Record<string, AnyKind>;

/** The name of a step kind. Example: `'service.stop'`. */
export type StepKindName = keyof typeof stepKindRegistry;

/** A kind's params as a runbook writes them (the input of its schema: defaults optional, templates as strings). Example: `StepParamsInput<'service.stop'>` -> `{ unit: Word }`. */
export type StepParamsInput<N extends StepKindName> = z.input<(typeof stepKindRegistry)[N]['params']>;

/**
 * Every step kind by name (`domain.verb`). The runbook loader validates params against these,
 * `cutover docs` documents them, and the engine plans with them. Example: `stepKinds.get('backup.copy')`.
 */
export const stepKinds: ReadonlyMap<string, AnyKind> = new Map<string, AnyKind>(
  Object.entries(stepKindRegistry),
);
