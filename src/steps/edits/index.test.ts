import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { YamlOp } from '../kind.js';
import { applyEdit, EditError, unifiedDiff } from './index.js';

const config = `# instance cmwdata
instanceName: cmwdata
# Признак запуска в контейнере
isContainerEnvironment: false
db.workDir: /var/lib/comindware/cmwdata/Database
`;

const site = `server {
    listen 443;
    location / {
        proxy_pass http://10.0.0.10:8080;
    }
}
`;

describe('applyEdit', () => {
  it('dispatches a yaml spec and its diff shows only the changed lines', () => {
    const after = applyEdit(config, {
      editor: 'yaml',
      ops: [
        { op: 'delete', key: 'isContainerEnvironment' },
        {
          op: 'set',
          key: 'db.holdLock',
          value: true,
          comment: 'Не загружает платформу пока существует hold.lock',
        },
      ],
    });
    expect(unifiedDiff(config, after, '10.0.0.12:/usr/share/comindware/configs/instance/cmwdata.yml')).toBe(
      [
        '--- 10.0.0.12:/usr/share/comindware/configs/instance/cmwdata.yml (before)',
        '+++ 10.0.0.12:/usr/share/comindware/configs/instance/cmwdata.yml (after)',
        '@@ -1,5 +1,5 @@',
        ' # instance cmwdata',
        ' instanceName: cmwdata',
        '-# Признак запуска в контейнере',
        '-isContainerEnvironment: false',
        ' db.workDir: /var/lib/comindware/cmwdata/Database',
        '+# Не загружает платформу пока существует hold.lock',
        '+db.holdLock: true',
        '',
      ].join('\n'),
    );
  });

  it('dispatches an nginx spec', () => {
    const after = applyEdit(site, { editor: 'nginx', locations: ['/'], upstream: 'http://10.0.0.11:8080' });
    expect(after).toBe(site.replace('10.0.0.10', '10.0.0.11'));
    expect(unifiedDiff(site, after, 'site')).toContain(
      '-        proxy_pass http://10.0.0.10:8080;\n+        proxy_pass http://10.0.0.11:8080;\n',
    );
  });

  it('throws EditError for a file that does not fit the spec', () => {
    expect(() =>
      applyEdit(site, { editor: 'nginx', locations: ['/async'], upstream: 'http://10.0.0.11:8080' }),
    ).toThrow(EditError);
    expect(() => applyEdit('a: [\n', { editor: 'yaml', ops: [{ op: 'delete', key: 'a' }] })).toThrow(
      EditError,
    );
  });
});

describe('yaml edits against a model of the data', () => {
  // Deterministic pseudo-random op sequences; the parsed result must equal the same ops applied to plain data.
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const keys = [
    'instanceName',
    'isContainerEnvironment',
    'db.workDir',
    'db.holdLock',
    'log/level',
    'log/path',
    'nodes',
  ];
  const values: unknown[] = [
    true,
    false,
    0,
    42,
    'yes',
    'plain',
    '/var/lib/x',
    null,
    ['10.0.0.10', '10.0.0.11'],
    { a: 1 },
    [],
  ];

  const applyToModel = (model: Record<string, unknown>, op: YamlOp) => {
    const path = op.key.split('/');
    let node = model;
    for (const segment of path.slice(0, -1)) {
      if (op.op === 'delete' && (node[segment] === undefined || node[segment] === null)) return;
      if (node[segment] === undefined || node[segment] === null) node[segment] = {};
      node = node[segment] as Record<string, unknown>;
    }
    const leaf = path[path.length - 1]!;
    if (op.op === 'delete') delete node[leaf];
    else node[leaf] = structuredClone(op.value);
  };

  it('matches the model and keeps untouched lines for 60 random sequences', () => {
    for (let round = 0; round < 60; round++) {
      const ops: YamlOp[] = Array.from({ length: 1 + Math.floor(random() * 5) }, () =>
        random() < 0.35
          ? { op: 'delete', key: pick(keys) }
          : {
              op: 'set',
              key: pick(keys),
              value: pick(values),
              ...(random() < 0.3 ? { comment: 'why' } : {}),
            },
      );
      // `log` must stay a mapping for the model's nested keys to make sense.
      const usable = ops.filter((op) => !(op.op === 'set' && op.key === 'log'));
      const model = parse(config) as Record<string, unknown>;
      for (const op of usable) applyToModel(model, op);
      const out = applyEdit(config, { editor: 'yaml', ops: usable });
      expect(parse(out) ?? {}, JSON.stringify(usable)).toEqual(model);
      // Lines the ops never named stay byte-identical.
      expect(out).toContain('# instance cmwdata\n');
    }
  });
});
