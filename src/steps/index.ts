import { archiveExtract } from './archive-extract.js';
import { backupCopy } from './backup-copy.js';
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
import { yamlEdit } from './yaml-edit.js';

/** Any kind: each has its own param type, and `plan(params: P)` makes them incompatible with `StepKind<unknown>`. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds kinds of every param type
type AnyKind = StepKind<any>;

const all: AnyKind[] = [
  shellRun,
  fileUpload,
  fileDownload,
  fileRemove,
  archiveExtract,
  backupCopy,
  serviceStop,
  serviceStart,
  serviceRestart,
  processStop,
  processStart,
  yamlEdit,
  nginxRoute,
  waitLog,
  waitHttp,
  waitFile,
  httpRequest,
  gateConfirm,
];

/**
 * Every step kind by name (`domain.verb`). The runbook loader validates params against these,
 * `cutover docs` documents them, and the engine plans with them. Example: `stepKinds.get('backup.copy')`.
 */
export const stepKinds: ReadonlyMap<string, AnyKind> = new Map<string, AnyKind>(all.map((k) => [k.name, k]));
