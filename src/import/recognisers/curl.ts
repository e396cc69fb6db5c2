/** `wget` and `curl`: downloads and HTTP requests. */
import type { TemplateUse } from '../placeholders.js';
import { findSecrets } from '../redact.js';
import type { ShellWord } from '../shell-words.js';
import { draft, type Recogniser } from './context.js';
import {
  basename,
  dateNotes,
  hintOf,
  joinPath,
  nameOf,
  type Resolved,
  resolvePath,
  urlNeedsShell,
} from './support.js';

interface HttpOptions {
  url?: string;
  user?: string;
  askPassword: boolean;
  output?: string;
  outputDir?: string;
  remoteName: boolean;
  insecure: boolean;
  method?: string;
  headers: string[];
  body?: string;
  unknown: string[];
}

type HttpField = 'user' | 'password' | 'output' | 'outputDir' | 'method' | 'header' | 'body';

/** Options that take a value, per program. */
const VALUE_OPTIONS: Record<'curl' | 'wget', Record<string, HttpField>> = {
  wget: {
    '--user': 'user',
    '--http-user': 'user',
    '--password': 'password',
    '--http-password': 'password',
    '-P': 'outputDir',
    '--directory-prefix': 'outputDir',
    '-O': 'output',
    '--output-document': 'output',
  },
  curl: {
    '-u': 'user',
    '--user': 'user',
    '-o': 'output',
    '--output': 'output',
    '-X': 'method',
    '--request': 'method',
    '-H': 'header',
    '--header': 'header',
    '-d': 'body',
    '--data': 'body',
    '--data-raw': 'body',
    '--data-binary': 'body',
  },
};

/** Flags that change nothing cutover cares about (quiet, fail on HTTP errors, follow redirects, retries). */
const HARMLESS_FLAGS =
  /^(?:--fail|--silent|--show-error|--location|--quiet|--continue|--no-verbose|--progress=\S+|--retry(?:=\S+)?|--tries=\S+|-[qcvN]+|-[fsSLv#]+)$/;

function httpOptions(program: 'curl' | 'wget', words: readonly ShellWord[]): HttpOptions {
  const o: HttpOptions = { askPassword: false, remoteName: false, insecure: false, headers: [], unknown: [] };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]?.value as string;
    if (/^https?:\/\//.test(word)) {
      o.url = word;
      continue;
    }
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const name = eq > 0 ? word.slice(0, eq) : word;
    const field = VALUE_OPTIONS[program][name];
    if (field) {
      const value = eq > 0 ? word.slice(eq + 1) : (words[++i]?.value ?? '');
      if (field === 'password') o.askPassword = true;
      else if (field === 'method') o.method = value.toUpperCase();
      else if (field === 'header') o.headers.push(value);
      else o[field] = value;
    } else if (word === '--ask-password') o.askPassword = true;
    else if (
      word === '--no-check-certificate' ||
      word === '--insecure' ||
      (program === 'curl' && word === '-k')
    )
      o.insecure = true;
    else if (program === 'curl' && (word === '-O' || word === '--remote-name')) o.remoteName = true;
    else if (program === 'curl' && /^-[fsSLkOv#]+$/.test(word)) {
      // Bundled short flags like -fsSL or -kO.
      if (word.includes('k')) o.insecure = true;
      if (word.includes('O')) o.remoteName = true;
    } else if (word.startsWith('-') && !HARMLESS_FLAGS.test(word)) o.unknown.push(word);
  }
  return o;
}

/** `wget`/`curl -o` downloads (with `--user`/`--ask-password` the password is a declared secret): file.download; other `curl` calls: http.request. */
export const http: Recogniser = (cmd, words, ctx) => {
  const program = words[0]?.value;
  if ((program !== 'wget' && program !== 'curl') || cmd.stages.length > 1) return undefined;
  const o = httpOptions(program, words.slice(1));
  if (o.url === undefined || o.unknown.length > 0 || urlNeedsShell(o.url)) return undefined;
  const uses: TemplateUse[] = [];
  const url = ctx.templater.template(o.url, ctx.line, uses);
  const download = program === 'wget' || o.output !== undefined || o.remoteName;
  const host = /^https?:\/\/([^/:@]+@)?([^/:]+)/.exec(o.url)?.[2] ?? 'download';
  if (download) {
    const name = basename(o.url.replace(/[?#].*$/, ''));
    let dest: Resolved | undefined;
    if (o.output !== undefined) dest = resolvePath(o.output, ctx, uses);
    else if (o.outputDir !== undefined) {
      const dir = resolvePath(o.outputDir, ctx, uses);
      dest = dir && {
        path: joinPath(dir.path, ctx.templater.template(name, ctx.line, uses)),
        notes: dir.notes,
      };
    } else dest = resolvePath(name, ctx, uses);
    if (!dest || name === '') return undefined;
    const auth: Record<string, string> = {};
    const todo = [...dest.notes];
    let why = `${program} download: file.download (temp file, then renamed into place)`;
    if (o.user !== undefined || o.askPassword) {
      const [userPart, literal] = (o.user ?? '').split(/:(.*)/s, 2);
      if (!userPart) return undefined;
      const secret = ctx.templater.secret(
        host.split('.')[0] as string,
        ctx.line,
        `password of ${userPart} at ${host} (line ${ctx.line} of the document)`,
      );
      auth.user = ctx.templater.template(userPart, ctx.line, uses);
      auth.password = `{{ secrets.${secret} }}`;
      why += `; the password is the secret ${secret} (env ${secret.toUpperCase()} or a prompt), sent on stdin`;
      if (literal !== undefined || findSecrets(cmd.text).length > 0)
        todo.push(
          `the document writes the password in the command; it was not copied: give it through $${secret.toUpperCase()} or the prompt`,
        );
    }
    return {
      type: 'steps',
      recognised: true,
      why,
      steps: [
        draft(
          'file.download',
          { url, dest: dest.path, ...auth, ...(o.insecure ? { insecure: true } : {}) },
          `download ${nameOf(name)}`,
          [...todo, ...dateNotes(uses)],
        ),
      ],
    };
  }
  if (o.user !== undefined) return undefined; // basic auth on a request: leave it to a person
  const local = /^(https?:\/\/)(localhost|127\.0\.0\.1)(?=[:/]|$)/;
  const todo: string[] = [];
  let requestUrl = url;
  if (local.test(url)) {
    requestUrl = url.replace(local, '$1{{ host.address }}');
    todo.push(
      'the document calls the node itself (localhost); http.request is sent from the controller: check that this port is reachable from it',
    );
  }
  const method = o.method ?? (o.body !== undefined ? 'POST' : 'GET');
  const headers: Record<string, string> = {};
  for (const h of o.headers) {
    const colon = h.indexOf(':');
    if (colon <= 0) return undefined;
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  if (findSecrets(cmd.text).length > 0) return undefined;
  return {
    type: 'steps',
    recognised: true,
    why: `curl ${method}: http.request${method === 'GET' ? ' (read-only)' : ''}`,
    steps: [
      draft(
        'http.request',
        {
          url: requestUrl,
          ...(method !== 'GET' ? { method } : {}),
          ...(Object.keys(headers).length > 0 ? { headers } : {}),
          ...(o.body !== undefined ? { body: o.body } : {}),
          ...(o.insecure ? { insecure: true } : {}),
        },
        `${method.toLowerCase()} ${hintOf(o.url.replace(/^https?:\/\/[^/]+/, '').replace(/[?#].*$/, ''))}`,
        todo,
      ),
    ],
  };
};
