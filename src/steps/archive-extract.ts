import { z } from 'zod';
import { ifThen, raw, sh } from '../shell/command.js';
import { defineKind } from './kind.js';
import { hostPath, targetPath, warn } from './support.js';

const params = z
  .object({
    archive: targetPath.describe(
      'absolute path of the archive on the host (tar, optionally gzip/bzip2/xz compressed)',
    ),
    dest: targetPath.describe('absolute path of an existing folder to extract into'),
    creates: hostPath
      .optional()
      .describe(
        'a path the archive creates: when it exists the step is done and nothing is extracted (also the probe)',
      ),
    strip: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('leading path components to drop from every entry (tar --strip-components)'),
  })
  .strict();

/**
 * `archive.extract`: `tar -xf archive -C dest`, like the seeds' `tar xvf`. Files already in dest
 * that the archive does not hold are left alone. There is no compensation: put a `backup.copy`
 * of the folder before it, whose undo restores the exact previous tree.
 * Example: `{ archive: '/home/ecsc.tar', dest: '/home' }`.
 */
export const archiveExtract = defineKind({
  name: 'archive.extract',
  summary:
    'Extract a tar archive into an existing folder (tar -xf ... -C dest); creates skips it when already done. No undo of its own: a backup.copy of the folder before it is what makes it reversible.',
  params,
  intent: (p) => ({
    does: `extract ${String(p.archive)} into ${String(p.dest)}`,
    undo: 'none of its own (a backup.copy before it restores the folder)',
  }),
  writesUnder: (p) => [String(p.dest)],
  // Extracting the same archive again writes the same entries: an interrupted extract is re-run.
  rerunSafe: true,
  plan(p) {
    const strip = p.strip === undefined ? raw('') : raw(` --strip-components=${p.strip}`);
    const tar = sh`tar -x -f ${p.archive} -C ${p.dest}${strip}`;
    const cmd =
      p.creates === undefined
        ? tar
        : ifThen(sh`[ -e ${p.creates} ]`, warn('archive.extract: nothing to do: %s exists', p.creates), tar);
    return {
      actions: [{ type: 'exec', cmd }],
      unpredictable: `writes the archive's entries under ${String(p.dest)}, replacing files of the same name (list them with tar -tf ${String(p.archive)})`,
      ...(p.creates !== undefined
        ? { probe: { cmd: sh`test -e ${p.creates}`, description: `${String(p.creates)} exists` } }
        : {}),
    };
  },
});
