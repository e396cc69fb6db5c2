import { z } from 'zod';
import { script } from '../shell/command.js';
import { defineKind } from './kind.js';
import { scriptText } from './params.js';
import { hostPath, recorded, restoreOriginal, stepDir } from './support.js';

const params = z
  .object({
    config: hostPath.describe(
      'absolute path of the nginx file holding the locations, e.g. /etc/nginx/sites-enabled/comindwarecmw',
    ),
    locations: z
      .array(
        z
          .string()
          .regex(
            /^(?:(?:=|~\*?|\^~)\s+)?\S+$/,
            'expected a location as written after `location`, e.g. /async or = /login',
          ),
      )
      .min(1)
      .describe("the locations to re-point, as written after `location`, e.g. ['/async', '/']"),
    upstream: z
      .string()
      .regex(/^https?:\/\/[^\s;{}'"]+$/, 'expected an upstream URL such as http://127.0.10.12:8080')
      .describe('where their proxy_pass should send requests, e.g. http://10.0.0.12:8080'),
    validate: scriptText
      .default('nginx -t')
      .describe('checks the edited configuration; on failure the original is put back (default nginx -t)'),
    reload: scriptText
      .default('nginx -s reload')
      .describe('applies the configuration (default nginx -s reload)'),
  })
  .strict();

/**
 * `nginx.route`: points the `proxy_pass` of the given locations at another upstream (the
 * engine edits the file, validates it and restores it if validation fails), then reloads.
 * The undo restores the file byte-identical, validates and reloads. The engine's traffic drain uses it.
 * Example: `{ config: '/etc/nginx/sites-enabled/comindwarecmw', locations: ['/async', '/'], upstream: 'http://10.0.0.12:8080' }`.
 */
export const nginxRoute = defineKind({
  name: 'nginx.route',
  summary:
    'Point the proxy_pass of some nginx locations at another upstream: edit, validate (nginx -t; the original is put back on failure), reload. The undo restores the file byte-identical, validates and reloads.',
  params,
  plan(p, ctx) {
    return {
      actions: [
        {
          type: 'edit',
          path: p.config,
          spec: { editor: 'nginx', locations: p.locations, upstream: p.upstream },
          backupPath: `${stepDir(ctx)}/original`,
          validate: script(p.validate),
        },
        { type: 'exec', cmd: script(p.reload), description: 'reload nginx' },
      ],
    };
  },
  compensate(p, outputs) {
    const backup = recorded(outputs, 'backup');
    if (backup === undefined) return [];
    return [
      {
        type: 'exec',
        cmd: restoreOriginal('nginx.route', backup, recorded(outputs, 'path') ?? p.config),
        description: 'restore the original file',
      },
      { type: 'exec', cmd: script(p.validate), description: 'validate' },
      { type: 'exec', cmd: script(p.reload), description: 'reload nginx' },
    ];
  },
});
