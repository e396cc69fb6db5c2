/**
 * Re-pointing nginx locations at another upstream without touching anything else. No npm
 * library keeps nginx comments, so this is a small tokenizer that follows nginx's own
 * `ngx_conf_read_token` rules and keeps offsets, plus a block finder; the edit splices only the
 * `proxy_pass` value tokens.
 *
 * Rules:
 * - A location is named as in the config: `/`, `/async`, `= /x`, `~ ^/api`, `@fallback`; it
 *   matches a `location` block with exactly those arguments (`=/x` and `= /x` are the same).
 *   Commented-out blocks (`#location /old { ... }`) are comments and never match.
 * - Every `server` block is searched, with locations nested in other locations included: a
 *   careful operator wants every server that serves the location routed (e.g. the :80 and :443
 *   servers). A location in no server is an error; one that matches twice within one server
 *   (e.g. also nested in another location) is ambiguous and an error. A file without `server`
 *   blocks (a snippet included into one) is one scope.
 * - In each matched location, every `proxy_pass` directly in its block, or in an `if` or
 *   `limit_except` block directly in it (they serve the same requests), is routed; nested
 *   locations are not (name them separately). A matched location without any is an error.
 * - The upstream replaces the whole proxy_pass value as given (a quoted value stays quoted).
 *   Because nginx passes the request URI differently with a URI part (`http://a:8080/`) than
 *   without (`http://a:8080`), an upstream whose URI part is present where the original's is
 *   absent (or the reverse) is refused rather than silently changing request paths.
 * - Routing to the upstream already there is a no-op; routing back to the original upstream
 *   gives the original text byte for byte.
 */
import { EditError } from './edit-error.js';
import { applySplices, lineColAt, type Splice } from './text.js';

/**
 * One nginx config token with its source offsets. `value` is the text nginx uses (quotes and
 * escapes removed) for words and strings. Example: `{ kind: 'string', text: '"a b"', value: 'a b', start: 8, end: 13, line: 1, col: 9 }`.
 */
export interface NginxToken {
  kind: 'word' | 'string' | '{' | '}' | ';' | 'comment';
  text: string;
  value: string;
  start: number;
  end: number;
  line: number;
  col: number;
}

/** A directive with its arguments and, for blocks, its children. Example: `location /async { ... }`. */
export interface NginxDirective {
  name: NginxToken;
  args: NginxToken[];
  block?: NginxDirective[];
}

function syntaxError(text: string, pos: number, message: string): never {
  const { line, col } = lineColAt(text, pos);
  throw new EditError(
    `nginx config line ${line}:${col}: ${message}. Fix the file on the host first; nothing was changed.`,
    {
      editor: 'nginx',
      line,
      col,
    },
  );
}

/** nginx's escapes in words and quoted strings: `\"`, `\'`, `\\`, `\t`, `\r`, `\n`; other backslashes stay. */
function unescapeNginx(raw: string): string {
  return raw.replace(/\\(["'\\trn])/g, (_, c: string) => ({ t: '\t', r: '\r', n: '\n' })[c] ?? c);
}

const SPACE = new Set([' ', '\t', '\r', '\n']);

/**
 * Splits nginx config text into tokens, comments included, following nginx's rules: `#` starts a
 * comment only at the start of a token, quotes only at the start of a token, a word ends at
 * whitespace, `;` or `{` (but `${var}` stays one word). Throws an EditError with line:col on an
 * unterminated quote. Example: `tokenizeNginx('listen 80; # web')` gives word, word, `;`, comment.
 */
export function tokenizeNginx(text: string): NginxToken[] {
  const tokens: NginxToken[] = [];
  let line = 1;
  let lineBegin = 0;
  const push = (kind: NginxToken['kind'], start: number, end: number, value?: string) => {
    const raw = text.slice(start, end);
    tokens.push({ kind, text: raw, value: value ?? raw, start, end, line, col: start - lineBegin + 1 });
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\n') {
      line++;
      lineBegin = ++i;
      continue;
    }
    if (SPACE.has(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === '#') {
      let end = text.indexOf('\n', i);
      if (end === -1) end = text.length;
      i = end;
      if (text[end - 1] === '\r') end--;
      push('comment', start, end);
    } else if (ch === '{' || ch === '}' || ch === ';') {
      push(ch, start, ++i);
    } else if (ch === '"' || ch === "'") {
      let j = i + 1;
      const firstLine = line;
      const firstLineBegin = lineBegin;
      while (j < text.length && text[j] !== ch) {
        if (text[j] === '\\') j++;
        else if (text[j] === '\n') {
          line++;
          lineBegin = j + 1;
        }
        j++;
      }
      if (j >= text.length)
        syntaxError(text, start, `the ${ch === '"' ? 'double' : 'single'} quote opened here is never closed`);
      i = j + 1;
      const next = text[i];
      if (next !== undefined && !SPACE.has(next) && next !== ';' && next !== '{' && next !== ')') {
        syntaxError(text, i, `expected a space, ";" or "{" after the quoted string, found "${next}"`);
      }
      const raw = text.slice(start, i);
      tokens.push({
        kind: 'string',
        text: raw,
        value: unescapeNginx(raw.slice(1, -1)),
        start,
        end: i,
        line: firstLine,
        col: start - firstLineBegin + 1,
      });
    } else {
      let j = i;
      while (j < text.length) {
        const c = text[j]!;
        if (c === '\\') {
          j += 2;
          continue;
        }
        if (SPACE.has(c) || c === ';' || (c === '{' && text[j - 1] !== '$')) break;
        j++;
      }
      i = Math.min(j, text.length);
      push('word', start, i, unescapeNginx(text.slice(start, i)));
    }
  }
  return tokens;
}

/**
 * Parses nginx config text into directives (comments dropped, offsets kept in the tokens).
 * Throws an EditError with line:col on unbalanced braces or an unterminated directive.
 * Example: `parseNginx('events {}')[0].name.value === 'events'`.
 */
export function parseNginx(text: string): NginxDirective[] {
  const tokens = tokenizeNginx(text).filter((t) => t.kind !== 'comment');
  let at = 0;
  const parseBlock = (opener: NginxToken | undefined): NginxDirective[] => {
    const directives: NginxDirective[] = [];
    for (;;) {
      const token = tokens[at];
      if (!token) {
        if (opener) syntaxError(text, opener.start, 'the block opened by this "{" is never closed with "}"');
        return directives;
      }
      if (token.kind === '}') {
        if (!opener) syntaxError(text, token.start, 'unexpected "}" with no block open');
        at++;
        return directives;
      }
      if (token.kind !== 'word' && token.kind !== 'string') {
        syntaxError(text, token.start, `unexpected "${token.text}": expected a directive name`);
      }
      at++;
      const args: NginxToken[] = [];
      for (;;) {
        const next = tokens[at];
        if (!next || next.kind === '}') {
          syntaxError(
            text,
            token.start,
            `directive "${token.value}" is not ended by ";" or a "{ ... }" block`,
          );
        }
        at++;
        if (next.kind === ';') {
          directives.push({ name: token, args });
          break;
        }
        if (next.kind === '{') {
          directives.push({ name: token, args, block: parseBlock(next) });
          break;
        }
        args.push(next);
      }
    }
  };
  return parseBlock(undefined);
}

const MODIFIERS = new Set(['=', '^~', '~', '~*']);

/** `location` arguments in one canonical form: `/x`, `= /x`, `~* \.php$`; undefined when not a valid location. */
function locationKey(values: readonly string[]): string | undefined {
  if (values.length === 2 && MODIFIERS.has(values[0]!)) return `${values[0]} ${values[1]}`;
  if (values.length !== 1) return undefined;
  const v = values[0]!;
  if (v.startsWith('=') && v.length > 1) return `= ${v.slice(1)}`;
  if (v.startsWith('~*') && v.length > 2) return `~* ${v.slice(2)}`;
  if (v.startsWith('~') && v.length > 1 && v !== '~*') return `~ ${v.slice(1)}`;
  return v;
}

interface Scope {
  server?: NginxDirective;
  locations: { key: string | undefined; directive: NginxDirective }[];
}

function collectScopes(directives: readonly NginxDirective[]): Scope[] {
  const top: Scope = { locations: [] };
  const scopes: Scope[] = [top];
  const walk = (list: readonly NginxDirective[], scope: Scope) => {
    for (const d of list) {
      if (!d.block) continue;
      if (d.name.value === 'server') {
        const server: Scope = { server: d, locations: [] };
        scopes.push(server);
        walk(d.block, server);
        continue;
      }
      if (d.name.value === 'location')
        scope.locations.push({ key: locationKey(d.args.map((a) => a.value)), directive: d });
      walk(d.block, scope);
    }
  };
  walk(directives, top);
  return scopes;
}

function describeServer(scope: Scope): string {
  if (!scope.server) return 'outside any server block';
  const values = (name: string) =>
    scope.server!.block!.filter((d) => d.name.value === name).flatMap((d) => d.args.map((a) => a.value));
  const names = values('server_name');
  const listens = values('listen').filter((v) => v !== 'default_server' && v !== 'ssl' && v !== 'http2');
  const parts = [
    listens.length ? `listen ${listens.join(' ')}` : '',
    names.length ? `server_name ${names.join(' ')}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `in the server block at line ${scope.server.name.line}${parts ? ` (${parts})` : ''}`;
}

/** The proxy_pass directives a location's requests go through (its own, and its if/limit_except blocks'). */
function proxyPasses(location: NginxDirective): NginxDirective[] {
  const found: NginxDirective[] = [];
  for (const d of location.block ?? []) {
    if (d.name.value === 'proxy_pass') found.push(d);
    if ((d.name.value === 'if' || d.name.value === 'limit_except') && d.block) {
      found.push(...d.block.filter((c) => c.name.value === 'proxy_pass'));
    }
  }
  return found;
}

/** The URI part of a literal proxy_pass value (`/` in `http://a:8080/`), '' for none, undefined when it has variables. */
function uriPart(value: string): string | undefined {
  if (value.includes('$')) return undefined;
  const match = /^[a-z]+:\/\/(.*)$/i.exec(value);
  if (!match) return undefined;
  let rest = match[1]!;
  if (rest.startsWith('unix:')) {
    const socketEnd = rest.indexOf(':', 'unix:'.length);
    return socketEnd === -1 ? '' : rest.slice(socketEnd + 1);
  }
  const slash = rest.indexOf('/');
  rest = slash === -1 ? '' : rest.slice(slash);
  return rest;
}

function checkUpstream(upstream: string): void {
  const bad = /[\s;{}"'\\]/.exec(upstream);
  if (!/^(https?:\/\/\S|\$)/.test(upstream) || bad) {
    throw new EditError(
      `nginx upstream "${upstream}": expected a proxy_pass target such as http://10.0.0.11:8080 or https://backend` +
        (bad ? `, without ${JSON.stringify(bad[0])}` : ''),
      { editor: 'nginx', target: upstream },
    );
  }
}

/**
 * Points every `proxy_pass` of the named locations at `upstream`, splicing only those value tokens.
 * Throws an EditError when a location is missing, ambiguous within one server, or has no proxy_pass.
 * Example: `routeNginxLocations(conf, ['/async', '/'], 'http://10.0.0.11:8080')`.
 */
export function routeNginxLocations(before: string, locations: readonly string[], upstream: string): string {
  checkUpstream(upstream);
  const scopes = collectScopes(parseNginx(before));
  const splices: Splice[] = [];
  const done = new Set<string>();
  for (const wanted of locations) {
    const fail: (message: string, token?: NginxToken) => never = (message, token) => {
      throw new EditError(
        `nginx location "${wanted}"${token ? ` (line ${token.line}:${token.col})` : ''}: ${message}`,
        {
          editor: 'nginx',
          target: wanted,
          ...(token ? { line: token.line, col: token.col } : {}),
        },
      );
    };
    let words: NginxToken[] = [];
    try {
      words = tokenizeNginx(wanted);
    } catch {
      // reported below as not a location
    }
    const key = words.every((t) => t.kind === 'word' || t.kind === 'string')
      ? locationKey(words.map((t) => t.value))
      : undefined;
    if (key === undefined)
      fail('expected a location as written after `location`, e.g. "/", "/async", "= /x" or "~ ^/api"');
    if (done.has(key)) continue; // `=/x` and `= /x` name the same location
    done.add(key);

    let matched = 0;
    for (const scope of scopes) {
      const matches = scope.locations.filter((l) => l.key === key);
      if (matches.length > 1) {
        const where = matches.map((m) => `${m.directive.name.line}:${m.directive.name.col}`).join(' and ');
        fail(
          `appears ${matches.length} times ${describeServer(scope)} (at ${where}), so it is unclear which one to route. Make the locations distinct in the file, or route it by hand.`,
        );
      }
      const location = matches[0]?.directive;
      if (!location) continue;
      matched++;
      const passes = proxyPasses(location);
      if (passes.length === 0) {
        fail(
          `has no proxy_pass ${describeServer(scope)}; cutover routes only proxied locations. Remove it from the step's locations or add the proxy_pass to the file.`,
          location.name,
        );
      }
      for (const pass of passes) {
        const arg = pass.args[0];
        if (!arg || pass.args.length !== 1) fail('expected proxy_pass with exactly one value', pass.name);
        if (arg.value === upstream) continue;
        const [was, will] = [uriPart(arg.value), uriPart(upstream)];
        if (was !== undefined && will !== undefined && (was === '') !== (will === '')) {
          fail(
            `proxy_pass ${arg.text} ${was ? `has the URI part "${was}"` : 'has no URI part'} but the upstream ${upstream} ${will ? `has "${will}"` : 'has none'}; ` +
              'nginx would then pass request paths differently. Give the upstream with the same URI part as the file.',
            arg,
          );
        }
        const quote = arg.kind === 'string' ? arg.text[0]! : '';
        splices.push({ start: arg.start, end: arg.end, insert: `${quote}${upstream}${quote}` });
      }
    }
    if (matched === 0) {
      const known = [
        ...new Set(scopes.flatMap((s) => s.locations.map((l) => l.key)).filter((k) => k !== undefined)),
      ];
      fail(
        `not found in any server block. The file has: ${known.length ? known.map((k) => `location ${k}`).join(', ') : 'no locations'}. Check the step's locations against the file.`,
      );
    }
  }
  return splices.length === 0 ? before : applySplices(before, splices);
}

/**
 * Marks one `server` of an `upstream NAME { … }` block `down` (or takes `down` away), keeping every
 * other byte: the load-balancer side of a drain. The server is named as written after `server`
 * (`10.0.0.11:8080`, `app-1:8080`); it must appear exactly once in that upstream.
 * Example: setUpstreamServerDown('upstream app { server a:80; server b:80; }', 'app', 'a:80', true)
 * -> 'upstream app { server a:80 down; server b:80; }'.
 */
export function setUpstreamServerDown(
  before: string,
  upstream: string,
  server: string,
  down: boolean,
): string {
  const fail = (message: string, token?: NginxToken): never => {
    throw new EditError(
      `nginx upstream ${upstream} server ${server}${token ? ` (line ${token.line}:${token.col})` : ''}: ${message}`,
      {
        editor: 'nginx',
        target: `${upstream}/${server}`,
        ...(token ? { line: token.line, col: token.col } : {}),
      },
    );
  };
  const blocks: NginxDirective[] = [];
  const visit = (directives: readonly NginxDirective[]) => {
    for (const d of directives) {
      if (d.name.value === 'upstream' && d.args[0]?.value === upstream && d.block) blocks.push(d);
      if (d.block) visit(d.block);
    }
  };
  const parsed = parseNginx(before);
  visit(parsed);
  if (blocks.length !== 1) {
    const names: string[] = [];
    const all = (ds: readonly NginxDirective[]) => {
      for (const d of ds) {
        if (d.name.value === 'upstream' && d.args[0]) names.push(d.args[0].value);
        if (d.block) all(d.block);
      }
    };
    all(parsed);
    fail(
      blocks.length === 0
        ? `no upstream ${upstream} in the file; its upstreams: ${names.join(', ') || 'none'}`
        : `upstream ${upstream} appears ${blocks.length} times, so it is unclear which one to change`,
    );
  }
  const servers = (blocks[0]?.block ?? []).filter(
    (d) => d.name.value === 'server' && d.args[0]?.value === server,
  );
  if (servers.length !== 1) {
    const known = (blocks[0]?.block ?? [])
      .filter((d) => d.name.value === 'server')
      .map((d) => d.args[0]?.value);
    fail(
      servers.length === 0
        ? `not in the upstream; its servers: ${known.join(', ') || 'none'}`
        : `appears ${servers.length} times in the upstream`,
      blocks[0]?.name,
    );
  }
  const directive = servers[0] as NginxDirective;
  const flag = directive.args.find((a) => a.value === 'down');
  if (down === Boolean(flag)) return before;
  if (flag) {
    // Remove " down" with the whitespace before it.
    let start = flag.start;
    while (start > 0 && /[ \t]/.test(before[start - 1] ?? '')) start--;
    return applySplices(before, [{ start, end: flag.end, insert: '' }]);
  }
  const last = directive.args[directive.args.length - 1] as NginxToken;
  return applySplices(before, [{ start: last.end, end: last.end, insert: ' down' }]);
}
