import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EditError } from './edit-error.js';
import { parseNginx, routeNginxLocations, tokenizeNginx } from './nginx.js';

/** Like /etc/nginx/sites-enabled/comindwarecmwdata on the web node 10.0.0.10. */
const site = `# Comindware cmwdata: managed by hand, see the upgrade runbook
upstream cmw_local {
    server 127.0.0.1:8080; # not a server block
}

server {
    listen 80;
    server_name cmw.example.local;
    return 301 https://$host$request_uri;
}

server {
    listen 443 ssl;
    server_name cmw.example.local;
    ssl_certificate     /etc/ssl/certs/cmw.pem;
    ssl_certificate_key /etc/ssl/private/cmw.key;
    add_header X-Note "braces { in a string } are not blocks;";

    #location /old {
    #    proxy_pass http://10.0.0.10:8080;
    #}

    location /async {
        proxy_pass http://10.0.0.10:8080;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
    }

    location / {
        proxy_pass         http://10.0.0.10:8080; # this node
        proxy_set_header   Host $host;
        proxy_set_header   X-Forwarded-For $proxy_add_x_forwarded_for;
        client_max_body_size 0;
    }

    location = /health {
        return 200 'ok';
    }
}

server {
    listen 8443 ssl;
    server_name integrations.example.local;
    location / {
        proxy_pass "http://10.0.0.10:8080";
    }
}
`;

describe('tokenizeNginx', () => {
  it('keeps offsets, comments, quoted strings with escapes and braced variables in words', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx's ${a} variable syntax, not a template
    const text = 'set $a "x \\" {y}";  # c { ;\nreturn 200 ${a}b;\r\n';
    const tokens = tokenizeNginx(text);
    expect(tokens.map((t) => [t.kind, t.value, t.line, t.col])).toEqual([
      ['word', 'set', 1, 1],
      ['word', '$a', 1, 5],
      ['string', 'x " {y}', 1, 8],
      [';', ';', 1, 18],
      ['comment', '# c { ;', 1, 21],
      ['word', 'return', 2, 1],
      ['word', '200', 2, 8],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx's ${a} variable syntax, not a template
      ['word', '${a}b', 2, 12],
      [';', ';', 2, 17],
    ]);
    for (const t of tokens) expect(text.slice(t.start, t.end)).toBe(t.text);
  });

  it('treats # inside a word as part of the word, and quotes only at a token start', () => {
    expect(tokenizeNginx("a#b c'd;").map((t) => t.text)).toEqual(['a#b', "c'd", ';']);
  });

  it('reports an unterminated quote with its line and column', () => {
    expect(() => tokenizeNginx('server {\n  add_header X "open;\n}\n')).toThrow(
      'nginx config line 2:16: the double quote opened here is never closed. Fix the file on the host first; nothing was changed.',
    );
  });
});

describe('parseNginx', () => {
  it('finds blocks and ignores commented-out ones', () => {
    const servers = parseNginx(site).filter((d) => d.name.value === 'server');
    expect(servers).toHaveLength(3);
    const locations = servers[1]!
      .block!.filter((d) => d.name.value === 'location')
      .map((d) => d.args.map((a) => a.value));
    expect(locations).toEqual([['/async'], ['/'], ['=', '/health']]);
  });

  it('reports unbalanced braces and unterminated directives', () => {
    expect(() => parseNginx('http {\n  server {\n}\n')).toThrow(
      'nginx config line 1:6: the block opened by this "{" is never closed',
    );
    expect(() => parseNginx('events {}\n}\n')).toThrow(
      'nginx config line 2:1: unexpected "}" with no block open',
    );
    expect(() => parseNginx('server { listen 80 }')).toThrow(
      'nginx config line 1:10: directive "listen" is not ended by ";" or a "{ ... }" block',
    );
  });
});

describe('routeNginxLocations', () => {
  const neighbour = 'http://10.0.0.11:8080';

  it('splices only the proxy_pass values of the named locations, in every server', () => {
    const out = routeNginxLocations(site, ['/async', '/'], neighbour);
    const lines = (text: string) => text.split('\n');
    const changed = lines(out).flatMap((line, i) => (line === lines(site)[i] ? [] : [[i + 1, line]]));
    expect(changed).toEqual([
      [24, '        proxy_pass http://10.0.0.11:8080;'],
      [31, '        proxy_pass         http://10.0.0.11:8080; # this node'],
      [46, '        proxy_pass "http://10.0.0.11:8080";'],
    ]);
    expect(out.length).toBe(site.length);
  });

  it('routing back to the original upstream gives the original bytes', () => {
    const routed = routeNginxLocations(site, ['/'], neighbour);
    expect(routed).not.toBe(site);
    expect(routeNginxLocations(routed, ['/'], 'http://10.0.0.10:8080')).toBe(site);
    const crlf = site.replace(/\n/g, '\r\n');
    const there = routeNginxLocations(crlf, ['/'], neighbour);
    expect(there).toBe(routed.replace(/\n/g, '\r\n'));
    expect(routeNginxLocations(there, ['/'], 'http://10.0.0.10:8080')).toBe(crlf);
  });

  it('is a no-op when the locations already point at the upstream', () => {
    expect(routeNginxLocations(site, ['/'], 'http://10.0.0.10:8080')).toBe(site);
    const routed = routeNginxLocations(site, ['/'], neighbour);
    expect(routeNginxLocations(routed, ['/'], neighbour)).toBe(routed);
  });

  it('matches the location arguments exactly, with or without a space after the modifier', () => {
    const conf = `server {
  location /api { proxy_pass http://a:1; }
  location = /api { proxy_pass http://b:1; }
  location ~ ^/api { proxy_pass http://c:1; }
  location /api/ { proxy_pass http://d:1; }
}
`;
    expect(routeNginxLocations(conf, ['=/api'], 'http://x:1')).toBe(conf.replace('http://b:1', 'http://x:1'));
    expect(routeNginxLocations(conf, ['~ ^/api'], 'http://x:1')).toBe(
      conf.replace('http://c:1', 'http://x:1'),
    );
    expect(routeNginxLocations(conf, ['/api', '/api'], 'http://x:1')).toBe(
      conf.replace('http://a:1', 'http://x:1'),
    );
  });

  it('routes a nested location and proxy_pass in if blocks, but not the nested locations of a match', () => {
    const conf = `server {
  location / {
    proxy_pass http://a:1;
    if ($arg_ws) { proxy_pass http://a:1; }
    location /async { proxy_pass http://a:2; }
  }
}
`;
    expect(routeNginxLocations(conf, ['/'], 'http://b:1')).toBe(conf.replace(/http:\/\/a:1/g, 'http://b:1'));
    expect(routeNginxLocations(conf, ['/async'], 'http://b:2')).toBe(
      conf.replace('http://a:2', 'http://b:2'),
    );
  });

  it('works on a snippet of locations without a server block', () => {
    const snippet = 'location / {\n  proxy_pass http://a:1;\n}\n';
    expect(routeNginxLocations(snippet, ['/'], 'http://b:1')).toBe(
      'location / {\n  proxy_pass http://b:1;\n}\n',
    );
  });

  const errorOf = (conf: string, locations: string[], upstream = neighbour): EditError => {
    try {
      routeNginxLocations(conf, locations, upstream);
    } catch (e) {
      if (e instanceof EditError) return e;
      throw e;
    }
    throw new Error('expected an EditError');
  };

  it('names a missing location and lists the ones the file has', () => {
    expect(errorOf(site, ['/old']).message).toBe(
      'nginx location "/old": not found in any server block. The file has: location /async, location /, location = /health. ' +
        "Check the step's locations against the file.",
    );
  });

  it('refuses a location without proxy_pass, with its position and server', () => {
    const e = errorOf(site, ['= /health']);
    expect(e.message).toBe(
      'nginx location "= /health" (line 37:5): has no proxy_pass in the server block at line 12 (listen 443, server_name cmw.example.local); ' +
        "cutover routes only proxied locations. Remove it from the step's locations or add the proxy_pass to the file.",
    );
    expect(e.detail).toEqual({ editor: 'nginx', target: '= /health', line: 37, col: 5 });
  });

  it('refuses a location that appears twice in one server', () => {
    const conf =
      'server {\n  location / { proxy_pass http://a:1; }\n  location /x {\n    location / { proxy_pass http://a:1; }\n  }\n}\n';
    expect(errorOf(conf, ['/']).message).toBe(
      'nginx location "/": appears 2 times in the server block at line 1 (at 2:3 and 4:5), so it is unclear which one to route. ' +
        'Make the locations distinct in the file, or route it by hand.',
    );
  });

  it('refuses an upstream that would change how the request URI is passed', () => {
    const conf = 'server {\n  location /async {\n    proxy_pass http://10.0.0.10:8080/async;\n  }\n}\n';
    expect(errorOf(conf, ['/async'], 'http://10.0.0.11:8080').message).toBe(
      'nginx location "/async" (line 3:16): proxy_pass http://10.0.0.10:8080/async has the URI part "/async" but the upstream ' +
        'http://10.0.0.11:8080 has none; nginx would then pass request paths differently. Give the upstream with the same URI part as the file.',
    );
    expect(errorOf(site, ['/'], 'http://10.0.0.11:8080/').message).toContain(
      'has no URI part but the upstream http://10.0.0.11:8080/ has "/"',
    );
    expect(routeNginxLocations(conf, ['/async'], 'http://10.0.0.11:8080/async')).toBe(
      conf.replace('http://10.0.0.10:8080/async', 'http://10.0.0.11:8080/async'),
    );
    // Variables make the URI part unknowable here; the value is replaced as given.
    expect(routeNginxLocations(conf, ['/async'], 'http://$neighbour')).toBe(
      conf.replace('http://10.0.0.10:8080/async', 'http://$neighbour'),
    );
  });

  it('refuses an upstream that is not a proxy_pass target', () => {
    expect(errorOf(site, ['/'], '10.0.0.11:8080').message).toBe(
      'nginx upstream "10.0.0.11:8080": expected a proxy_pass target such as http://10.0.0.11:8080 or https://backend',
    );
    expect(errorOf(site, ['/'], 'http://a;evil').message).toContain('without ";"');
    expect(errorOf(site, ['{']).message).toContain('expected a location as written after `location`');
  });
});

describe('routeNginxLocations output passes nginx -t', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-nginx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A complete config around the site, with every path inside the temp prefix. */
  const complete = () => `worker_processes 1;
events { worker_connections 16; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    include ${dir}/site.conf;
}
`;
  const nginxTest = (siteText: string) => {
    writeFileSync(join(dir, 'site.conf'), siteText);
    writeFileSync(join(dir, 'nginx.conf'), complete());
    return spawnSync(
      'nginx',
      [
        '-t',
        '-p',
        dir,
        '-e',
        join(dir, 'error.log'),
        '-c',
        join(dir, 'nginx.conf'),
        '-g',
        `pid ${dir}/nginx.pid; error_log ${dir}/error.log;`,
      ],
      { encoding: 'utf8', timeout: 15_000 },
    );
  };
  // No certificates in the temp prefix, so the TLS servers become plain ones here.
  const testable = site.replace(/ ssl;/g, ';').replace(/^\s*ssl_certificate.*\n/gm, '');

  it('accepts the config before and after routing, and rejects a broken one', () => {
    const before = nginxTest(testable);
    expect(before.stderr).toContain('test is successful');
    expect(before.status).toBe(0);

    const routed = routeNginxLocations(testable, ['/async', '/'], 'http://10.0.0.11:8080');
    expect(routed).not.toBe(testable);
    const after = nginxTest(routed);
    expect(after.stderr).toContain('test is successful');
    expect(after.status).toBe(0);

    const broken = nginxTest(testable.replace('location / {', 'location / '));
    expect(broken.status).not.toBe(0);
  });
});
