import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { lines, raw, sh } from '../shell/command.js';
import { defineKind } from './kind.js';
import { printSaved, replaceablePath, saveExisting, say, stepDir, undoReplace, v } from './support.js';

const params = z
  .object({
    src: z.string().min(1).describe('file on the controller, relative to the runbook folder or absolute'),
    dest: replaceablePath.describe(
      'absolute path of the file on the host; an existing file there is kept for the undo',
    ),
    mode: z
      .string()
      .regex(/^[0-7]{3,4}$/, "expected an octal mode like '0644'")
      .optional()
      .describe("permissions of the uploaded file, octal like '0644' (default: the host's umask)"),
  })
  .strict();

/**
 * `file.upload`: copies a controller file to the host, checksum-verified. Any file it replaces
 * is kept first so the undo restores it byte-identical (or removes the upload when there was none).
 * Example: `{ src: 'dist/ecsc.tar', dest: '/home/ecsc.tar' }`.
 */
export const fileUpload = defineKind({
  name: 'file.upload',
  summary:
    'Upload a controller file to the host (temp file, sha256 verified on the host, rename); an existing file is kept so the undo restores it, or removes the upload.',
  params,
  intent: (p) => ({
    does: `upload ${p.src} to ${String(p.dest)}`,
    undo: 'put back the file it replaced, or remove the upload',
  }),
  localFiles: (p) => [p.src],
  plan(p, ctx) {
    const dir = stepDir(ctx);
    const local = isAbsolute(p.src) ? p.src : resolve(ctx.controllerDir, p.src);
    const sha = ctx.localSha256[local] ?? ctx.localSha256[p.src];
    return {
      actions: [
        {
          type: 'exec',
          cmd: saveExisting('file.upload', p.dest, dir),
          capture: { keyValues: true },
          description: 'keep any existing file for the undo',
        },
        { type: 'put', localPath: p.src, remotePath: p.dest, ...(p.mode ? { mode: p.mode } : {}) },
      ],
      // Without the controller file's checksum (not compiled yet) there is nothing sound to compare.
      ...(sha
        ? {
            probe: {
              cmd: lines(
                sh`d=${dir}`,
                sh`p=${p.dest}`,
                printSaved(['existed']),
                say('path=%s', v('p')),
                raw('[ -f "$p" ] || exit 1'),
                raw('h=$(sha256sum < "$p") || exit 2'),
                sh`[ "\${h%% *}" = ${sha} ]`,
              ),
              description: `${String(p.dest)} has sha256 ${sha.slice(0, 12)}…`,
            },
          }
        : {}),
    };
  },
  compensate(p, outputs, ctx) {
    return undoReplace(outputs, p.dest, stepDir(ctx)).map((cmd) => ({ type: 'exec' as const, cmd }));
  },
});
