import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { stepKinds } from './index.js';
import { scriptText } from './params.js';
import { testContext } from './test-support.js';

/** Script fields as plan/compile finds them: the `scriptText` schema itself under optional/default/prefault wrappers. */
function scriptFields(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {};
  return Object.entries(shape)
    .filter(([, field]) => {
      let s = field as unknown as { _zod: { def: { type: string; innerType?: unknown } } };
      while (
        ['optional', 'default', 'nullable', 'prefault'].includes(s._zod.def.type) &&
        s._zod.def.innerType
      ) {
        s = s._zod.def.innerType as typeof s;
      }
      return (s as unknown) === scriptText;
    })
    .map(([key]) => key);
}

describe('stepKinds', () => {
  it('registers the whole catalogue under each kind name', () => {
    expect([...stepKinds.keys()].sort()).toEqual(
      [
        'archive.extract',
        'backup.copy',
        'balancer.commands',
        'haproxy.check',
        'haproxy.drain',
        'nginx.upstream',
        'file.download',
        'file.remove',
        'file.upload',
        'gate.confirm',
        'http.request',
        'nginx.route',
        'process.start',
        'process.stop',
        'service.restart',
        'service.start',
        'service.stop',
        'shell.run',
        'text.edit',
        'wait.command',
        'wait.file',
        'wait.http',
        'wait.log',
        'yaml.edit',
      ].sort(),
    );
    for (const [name, kind] of stepKinds) {
      expect(kind.name).toBe(name);
      expect(kind.summary.length).toBeGreaterThan(20);
    }
  });

  it('marks the read-only kinds', () => {
    const readOnly = [...stepKinds.values()].filter((k) => k.readOnly).map((k) => k.name);
    expect(readOnly.sort()).toEqual([
      'gate.confirm',
      'haproxy.check',
      'wait.command',
      'wait.file',
      'wait.http',
      'wait.log',
    ]);
    expect(stepKinds.get('http.request')?.readOnlyFor).toBeTypeOf('function');
  });

  it('documents every param, refuses unknown ones, and exports as JSON Schema', () => {
    for (const [name, kind] of stepKinds) {
      // As cutover publishes it: word types are custom zod types that carry `type: string` as metadata.
      const schema = z.toJSONSchema(kind.params, { io: 'input', unrepresentable: 'any' }) as {
        properties: Record<string, { description?: string; type?: string; anyOf?: unknown; enum?: unknown }>;
        additionalProperties?: boolean;
      };
      expect(schema.additionalProperties, name).toBe(false);
      for (const [key, property] of Object.entries(schema.properties)) {
        expect(property.description, `${name}/${key}`).toMatch(/\w{3}/);
        expect(property.type ?? property.anyOf ?? property.enum, `${name}/${key} type`).toBeDefined();
      }
    }
  });

  it('keeps author-written scripts recognisable as scripts, so expanded values get quoted', () => {
    const found = Object.fromEntries(
      [...stepKinds]
        .map(([name, kind]) => [name, scriptFields(kind.params)] as const)
        .filter(([, fields]) => fields.length > 0),
    );
    expect(found).toEqual({
      'shell.run': ['command', 'unless', 'undo'],
      'process.stop': ['restart'],
      'process.start': ['command'],
      'nginx.route': ['validate', 'reload'],
      'text.edit': ['validate'],
      'wait.command': ['command'],
      'balancer.commands': ['drain', 'drained', 'undrain', 'ready'],
      'nginx.upstream': ['validate', 'reload'],
    });
  });

  it('plans every kind, and shows every undo from outputs not recorded yet (as the plan view does)', () => {
    const typical: Record<string, Record<string, unknown>> = {
      'shell.run': {
        command: 'bash instance_upgrade.sh -n=cmw',
        undo: 'true',
        creates: '/var/www/.cmw_version/5.0',
      },
      'file.upload': { src: 'dist/ecsc.tar', dest: '/home/ecsc.tar' },
      'file.download': { url: 'https://teamcity.example/cmw.tar.gz', dest: '/mnt/shared/cmw.tar.gz' },
      'file.remove': { path: '/var/lib/comindware/cmw/Database/hold.lock' },
      'archive.extract': { archive: '/home/ecsc.tar', dest: '/home' },
      'backup.copy': { src: '/home/ecsc', dest: '/home/ecsc_backup' },
      'service.stop': { unit: 'comindwarecmw' },
      'service.start': { unit: 'comindwarecmw' },
      'service.restart': { unit: 'comindwarecmw' },
      'process.stop': { match: 'java .*ecsc', restart: '/home/apache-tomcat-7.0.67/bin/startup.sh' },
      'process.start': { command: 'nohup sh startup.sh', cwd: '/home/schedule' },
      'yaml.edit': { file: '/etc/cmw.yml', set: { 'db.holdLock': true } },
      'text.edit': { file: '/etc/shop/app.properties', set: { 'server.port': 8081 } },
      'wait.command': { command: 'pg_isready', interval: '2s' },
      'nginx.route': {
        config: '/etc/nginx/sites-enabled/cmw',
        locations: ['/'],
        upstream: 'http://10.0.0.12:8080',
      },
      'haproxy.drain': {
        balancers: ['lb'],
        socket: '/run/haproxy/admin.sock',
        backend: 'app',
        server: 'app-1',
      },
      'haproxy.check': {
        balancers: ['lb'],
        socket: '/run/haproxy/admin.sock',
        backend: 'app',
        server: 'app-1',
      },
      'balancer.commands': { balancers: [], drain: 'a', drained: 'b', undrain: 'c' },
      'nginx.upstream': {
        balancers: ['lb'],
        config: '/etc/nginx/conf.d/lb.conf',
        upstream: 'app',
        server: 'a:80',
      },
      'wait.log': { path: '/var/log/app.log', pattern: 'started' },
      'wait.http': { url: 'http://10.0.0.12:8080/login' },
      'wait.file': { path: '/x', state: 'absent' },
      'http.request': { url: 'http://10.0.0.12:8080/' },
      'gate.confirm': { message: 'check the node' },
    };
    // What src/plan/render.ts passes: every output reads as a placeholder.
    const placeholders = new Proxy(
      {},
      { get: (_t, key) => `<${String(key)} recorded at run time>`, has: () => true },
    );
    const withUndo: string[] = [];
    for (const [name, kind] of stepKinds) {
      const params = kind.params.parse(typical[name]);
      expect(kind.plan(params, testContext()).actions.length, name).toBeGreaterThan(0);
      const undo = kind.compensate?.(params, placeholders as Record<string, string>, testContext()) ?? [];
      for (const action of undo) if (action.type === 'exec') expect(String(action.cmd)).not.toBe('');
      if (undo.length > 0) withUndo.push(name);
      // These undos need no recorded output: the author's script, or state the host's step folder holds.
      if (!['shell.run', 'process.stop', 'process.start'].includes(name))
        expect(kind.compensate?.(params, {}, testContext()) ?? [], `${name} without outputs`).toEqual([]);
    }
    expect(withUndo.sort()).toEqual(
      [
        'backup.copy',
        'balancer.commands',
        'haproxy.drain',
        'nginx.upstream',
        'file.download',
        'file.remove',
        'file.upload',
        'nginx.route',
        'process.start',
        'process.stop',
        'service.start',
        'service.stop',
        'service.restart',
        'shell.run',
        'text.edit',
        'yaml.edit',
      ].sort(),
    );
  });
});
