import { z } from 'zod';
import { all, type Command, ifThen, lines, raw, sh } from '../shell/command.js';
import { Secret } from '../shell/secret.js';
import { concat, Expanded, isHostDate, type Part, partsOf, type Word } from '../shell/word.js';
import { defineKind } from './kind.js';
import { word } from './params.js';
import {
  holdsSecret,
  printSaved,
  replaceablePath,
  saveExisting,
  say,
  stepDir,
  undoReplace,
  v,
  warn,
} from './support.js';

const noHostDate = (w: Word | undefined) => w === undefined || !partsOf(w).some(isHostDate);

const params = z
  .object({
    url: word.describe('http(s) URL to fetch (it may hold a secret; it then travels on stdin too)'),
    dest: replaceablePath.describe('absolute path of the file to write on the host (not a folder)'),
    user: word.optional().describe('user for HTTP authentication (needs password)'),
    password: word
      .optional()
      .describe(
        "password for HTTP authentication, usually '{{ secrets.x }}'; sent to curl on stdin, never in argv",
      ),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits')
      .transform((s) => s.toLowerCase())
      .optional()
      .describe('expected sha256 of the file: a mismatch fails the step and keeps the old file'),
    insecure: z.boolean().default(false).describe('skip TLS certificate verification (self-signed servers)'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!/^https?:\/\//.test(String(partsOf(p.url)[0] ?? ''))) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'expected an http:// or https:// URL' });
    }
    if ((p.user === undefined) !== (p.password === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [p.user === undefined ? 'user' : 'password'],
        message: 'user and password go together (curl would otherwise prompt for the password and hang)',
      });
    }
    for (const key of ['user', 'password'] as const) {
      if (!noHostDate(p[key]))
        ctx.addIssue({ code: 'custom', path: [key], message: 'cannot depend on the host clock' });
    }
    if (holdsSecret(p.url) && !noHostDate(p.url)) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'a URL holding a secret cannot also depend on the host clock',
      });
    }
  });

type Params = z.output<typeof params>;

/** Escapes text for a double-quoted value of a curl config file. Example: `a"b` -> `a\"b`. */
export function curlConfigEscape(text: string): string {
  return text.replace(
    /[\\"\n\r\t\v]/g,
    (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' })[c] ?? c,
  );
}

/** A word as an escaped curl config value; secrets stay secrets (their escaped value). */
function configValue(w: Word): Word {
  const parts: Part[] = partsOf(w).map((p) => {
    if (p instanceof Secret) return new Secret(p.name, curlConfigEscape(p.reveal()));
    if (isHostDate(p)) throw new Error('file.download: a curl config value cannot depend on the host clock');
    return curlConfigEscape(p instanceof Expanded ? p.text : p);
  });
  return concat(...(parts as Word[]));
}

/** The curl config fed on stdin: credentials, and the URL when it holds a secret. */
function curlConfig(p: Params): Word | undefined {
  const lines: Word[] = [];
  if (holdsSecret(p.url)) lines.push('url = "', configValue(p.url), '"\n');
  if (p.user !== undefined && p.password !== undefined) {
    lines.push('user = "', configValue(concat(p.user, ':', p.password)), '"\n');
  }
  return lines.length ? concat(...lines) : undefined;
}

/**
 * `file.download`: fetches a URL with curl into a temp file beside `dest`, checks its sha256
 * when given, and renames it into place. Credentials reach curl on stdin (`--config -`), never
 * argv. Any file it replaces is kept for the undo. Example:
 * `{ url: 'https://teamcity.example/cmw.tar.gz', dest: '/mnt/shared/cmw.tar.gz', user: 'cmw-devops', password: '{{ secrets.distr }}' }`.
 */
export const fileDownload = defineKind({
  name: 'file.download',
  summary:
    'Download a URL with curl (user and password on stdin, never in argv) to a temp file beside dest, verify sha256 when given, rename into place; the undo restores the replaced file or removes the download.',
  params,
  intent: (p) => ({
    does: `download ${String(p.url)} to ${String(p.dest)}`,
    undo: 'put back the file it replaced, or remove the download',
  }),
  plan(p, ctx) {
    const dir = stepDir(ctx);
    const config = curlConfig(p);
    const flags = raw(
      `--fail --location --silent --show-error${p.insecure ? ' --insecure' : ''}${config ? ' --config -' : ''}`,
    );
    const url: Command = holdsSecret(p.url) ? raw('') : sh` ${p.url}`;
    const verify = p.sha256
      ? [
          raw('h=$(sha256sum < "$t")'),
          ifThen(
            sh`[ "\${h%% *}" != ${p.sha256} ]`,
            lines(
              warn(
                'file.download: the download for %s has sha256 %s, expected %s; the old file is untouched',
                v('p'),
                raw(`"\${h%% *}"`),
                p.sha256,
              ),
              raw('rm -f -- "$t"'),
              raw('exit 1'),
            ),
          ),
        ]
      : [];
    const fetch = lines(
      sh`d=${dir}`,
      sh`p=${p.dest}`,
      raw('t="$p.cutover-part"'),
      all(
        raw('rm -f -- "$t"'),
        sh`curl ${flags} --output "$t"${url}`,
        ...verify,
        raw('mv -f -T -- "$t" "$p"'),
        raw(': > "$d/done"'),
      ),
    );
    const check = p.sha256
      ? lines(raw('h=$(sha256sum < "$p") || exit 2'), sh`[ "\${h%% *}" = ${p.sha256} ]`)
      : // Without a checksum, a file that was already there before this step proves nothing.
        ifThen(raw('[ "$(cat "$d/existed" 2>/dev/null)" = 1 ] && [ ! -e "$d/done" ]'), raw('exit 1'));
    return {
      actions: [
        {
          type: 'exec',
          cmd: saveExisting('file.download', p.dest, dir),
          capture: { keyValues: true },
          description: 'keep any existing file for the undo',
        },
        { type: 'exec', cmd: config ? fetch.withStdin(config) : fetch, description: 'download' },
      ],
      probe: {
        cmd: lines(
          sh`d=${dir}`,
          sh`p=${p.dest}`,
          printSaved(['existed']),
          say('path=%s', v('p')),
          raw('[ -f "$p" ] || exit 1'),
          check,
        ),
        description: p.sha256
          ? `${String(p.dest)} has sha256 ${p.sha256.slice(0, 12)}…`
          : `${String(p.dest)} was downloaded`,
      },
    };
  },
  compensate(p, outputs, ctx) {
    const cmds = undoReplace(outputs, p.dest, stepDir(ctx), raw('rm -f -- "$p.cutover-part"'));
    return cmds.map((cmd) => ({ type: 'exec' as const, cmd }));
  },
});
