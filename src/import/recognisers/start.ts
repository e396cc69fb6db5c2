import type { TemplateUse } from '../placeholders.js';
import { findSecrets } from '../redact.js';
import { draft, type Recogniser } from './context.js';
import { cwdNotes, cwdWhy, dateNotes, joinPath, nameOf, resolvePath } from './support.js';

const START_SCRIPT = /(?:^|\/)(?:startup|start|run)\.sh$/;

/** `nohup sh X &`, `X &`, or a start script such as Tomcat's `bin/startup.sh`: process.start, detached. */
export const start: Recogniser = (cmd, words, ctx) => {
  if (cmd.stages.length > 1) return undefined;
  const nohup = words[0]?.value === 'nohup';
  const body = nohup ? words.slice(1) : words;
  const script = body[0]?.value === 'sh' || body[0]?.value === 'bash' ? body[1]?.value : body[0]?.value;
  const startScript = script !== undefined && START_SCRIPT.test(script);
  const catalina = /(?:^|\/)catalina\.sh$/.test(body[0]?.value ?? '') && body[1]?.value === 'start';
  if (!nohup && !cmd.background && !startScript && !catalina) return undefined;
  if (body.length === 0 || findSecrets(cmd.text).length > 0) return undefined;
  const uses: TemplateUse[] = [];
  const command = ctx.templater.template(body.map((w) => w.text).join(' '), ctx.line, uses);
  const todo = [...cwdNotes(ctx.cwd), ...dateNotes(uses)];
  const out = cmd.redirects.find(
    (r) => (r.op === '>' || r.op === '>>' || r.op === '&>' || r.op === '&>>') && r.target,
  );
  let log: string | undefined;
  if (out?.target) log = resolvePath(out.target.value, ctx, uses)?.path;
  else if (nohup && ctx.cwd) log = joinPath(ctx.cwd.path, 'nohup.out');
  const scriptPath = script ?? '';
  if (!ctx.cwd && !scriptPath.startsWith('/') && !scriptPath.startsWith('<')) {
    todo.push(`${scriptPath} is relative and the document does not say in which folder it runs: set cwd`);
  }
  const dir = scriptPath.includes('/')
    ? scriptPath.slice(0, scriptPath.lastIndexOf('/')).replace(/\/bin$/, '')
    : (ctx.cwd?.path ?? '');
  return {
    type: 'steps',
    recognised: true,
    why: `${nohup ? 'nohup ... &' : cmd.background ? '... &' : 'a start script'}: process.start (detached, survives the SSH session)${cwdWhy(ctx.cwd)}`,
    steps: [
      draft(
        'process.start',
        {
          command,
          ...(ctx.cwd ? { cwd: ctx.cwd.path } : {}),
          ...(log !== undefined ? { log } : {}),
        },
        `start ${nameOf(dir) || nameOf(scriptPath)}`,
        todo,
      ),
    ],
  };
};
