import { z } from 'zod';
import { sh } from '../shell/command.js';
import { defineKind } from './kind.js';
import { hostPath } from './support.js';

const params = z
  .object({
    path: hostPath.describe('absolute path on the host, e.g. /var/lib/comindware/cmw/Database/hold.lock'),
    state: z.enum(['present', 'absent']).describe('wait until the path exists (present) or is gone (absent)'),
  })
  .strict();

/** `wait.file`: waits until a path exists or is gone on the host (`test -e`). Example: `{ path: '/var/lib/comindware/cmw/Database/hold.lock', state: 'present' }`. */
export const waitFile = defineKind({
  name: 'wait.file',
  summary: 'Wait until a path on the host exists (present) or is gone (absent), polling test -e.',
  params,
  intent: (p) => ({ does: `wait until ${String(p.path)} is ${p.state}` }),
  readOnly: true,
  plan(p) {
    const cmd = p.state === 'present' ? sh`test -e ${p.path}` : sh`test ! -e ${p.path}`;
    const description = `${String(p.path)} to ${p.state === 'present' ? 'exist' : 'be gone'}`;
    return { actions: [{ type: 'wait', condition: { kind: 'command', cmd, description } }] };
  },
});
