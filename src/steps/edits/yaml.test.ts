import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { YamlOp } from '../kind.js';
import { EditError } from './edit-error.js';
import { applyYamlOps } from './yaml.js';

/** Modelled on /usr/share/comindware/configs/instance/<instance>.yml before 5.0.23654.0. */
const instanceConfig = `# Конфигурация экземпляра cmwdata
# Изменено вручную, см. регламент обновления

instanceName: cmwdata
version: 5.0.23100.0  # текущая версия экземпляра
databasePath: '/var/lib/comindware/cmwdata/Database'

# Признак запуска в контейнере
isContainerEnvironment: false
# Узлы кластера (Ignite)
clusterNodes:
  - 10.0.0.10
  - 10.0.0.11
  - 10.0.0.12

db.name: cmwdata
db.workDir: /var/lib/comindware/cmwdata/Database
# Каталог резервных копий
db.backupDir: "/var/backups/comindware/cmwdata"

log:
  path: /var/log/comindware/cmwdata
  level: Info   # Debug для отладки
`;

const migrateTo23654: YamlOp[] = [
  { op: 'delete', key: 'isContainerEnvironment' },
  { op: 'delete', key: 'clusterNodes' },
  {
    op: 'set',
    key: 'db.waitForClusterActivation',
    value: true,
    comment: 'Ожидает активации кластера перед запуском',
  },
  {
    op: 'set',
    key: 'db.waitForFileActivation',
    value: '/var/www/.cmw_environment/cmwdata',
    comment: 'Ожидает наличие файла перед запуском',
  },
];

const after23654 = `# Конфигурация экземпляра cmwdata
# Изменено вручную, см. регламент обновления

instanceName: cmwdata
version: 5.0.23100.0  # текущая версия экземпляра
databasePath: '/var/lib/comindware/cmwdata/Database'

db.name: cmwdata
db.workDir: /var/lib/comindware/cmwdata/Database
# Каталог резервных копий
db.backupDir: "/var/backups/comindware/cmwdata"

log:
  path: /var/log/comindware/cmwdata
  level: Info   # Debug для отладки
# Ожидает активации кластера перед запуском
db.waitForClusterActivation: true
# Ожидает наличие файла перед запуском
db.waitForFileActivation: /var/www/.cmw_environment/cmwdata
`;

const migrateToHoldLock: YamlOp[] = [
  { op: 'delete', key: 'db.waitForClusterActivation' },
  { op: 'delete', key: 'db.waitForFileActivation' },
  {
    op: 'set',
    key: 'db.holdLock',
    value: true,
    comment: 'Не загружает платформу пока существует файл db.workDir/hold.lock',
  },
];

const afterHoldLock = `# Конфигурация экземпляра cmwdata
# Изменено вручную, см. регламент обновления

instanceName: cmwdata
version: 5.0.23100.0  # текущая версия экземпляра
databasePath: '/var/lib/comindware/cmwdata/Database'

db.name: cmwdata
db.workDir: /var/lib/comindware/cmwdata/Database
# Каталог резервных копий
db.backupDir: "/var/backups/comindware/cmwdata"

log:
  path: /var/log/comindware/cmwdata
  level: Info   # Debug для отладки
# Не загружает платформу пока существует файл db.workDir/hold.lock
db.holdLock: true
`;

describe('applyYamlOps on a Comindware instance config', () => {
  it('migrates to 5.0.23654.0: removes isContainerEnvironment and clusterNodes, adds the activation keys', () => {
    expect(applyYamlOps(instanceConfig, migrateTo23654)).toBe(after23654);
  });

  it('then migrates to db.holdLock', () => {
    expect(applyYamlOps(after23654, migrateToHoldLock)).toBe(afterHoldLock);
  });

  it('is idempotent: applying the ops to their own result changes nothing', () => {
    expect(applyYamlOps(after23654, migrateTo23654)).toBe(after23654);
    expect(applyYamlOps(afterHoldLock, migrateToHoldLock)).toBe(afterHoldLock);
    expect(applyYamlOps(applyYamlOps(instanceConfig, migrateTo23654), migrateTo23654)).toBe(after23654);
  });

  it('keeps CRLF line endings and a missing final newline', () => {
    const crlf = instanceConfig.replace(/\n/g, '\r\n');
    expect(applyYamlOps(crlf, migrateTo23654)).toBe(after23654.replace(/\n/g, '\r\n'));
    const noFinal = instanceConfig.slice(0, -1);
    expect(applyYamlOps(noFinal, migrateTo23654)).toBe(after23654.slice(0, -1));
    expect(applyYamlOps(crlf.slice(0, -2), migrateTo23654)).toBe(
      after23654.replace(/\n/g, '\r\n').slice(0, -2),
    );
  });

  it('reads back as the data the ops describe', () => {
    const data = parse(applyYamlOps(instanceConfig, [...migrateTo23654, ...migrateToHoldLock]));
    expect(data).toEqual({
      instanceName: 'cmwdata',
      version: '5.0.23100.0',
      databasePath: '/var/lib/comindware/cmwdata/Database',
      'db.name': 'cmwdata',
      'db.workDir': '/var/lib/comindware/cmwdata/Database',
      'db.backupDir': '/var/backups/comindware/cmwdata',
      log: { path: '/var/log/comindware/cmwdata', level: 'Info' },
      'db.holdLock': true,
    });
  });
});

describe('applyYamlOps set', () => {
  it('replaces only the value text, keeping the comment beside it and the quoting style', () => {
    const ops: YamlOp[] = [
      { op: 'set', key: 'version', value: '5.0.23654.0' },
      { op: 'set', key: 'databasePath', value: "/srv/it's" },
      { op: 'set', key: 'db.backupDir', value: '/srv/backup' },
      { op: 'set', key: 'log/level', value: 'Debug' },
    ];
    const out = applyYamlOps(instanceConfig, ops);
    expect(out).toBe(
      instanceConfig
        .replace('version: 5.0.23100.0  #', 'version: 5.0.23654.0  #')
        .replace("databasePath: '/var/lib/comindware/cmwdata/Database'", "databasePath: '/srv/it''s'")
        .replace('db.backupDir: "/var/backups/comindware/cmwdata"', 'db.backupDir: "/srv/backup"')
        .replace('level: Info   #', 'level: Debug   #'),
    );
  });

  it('appends a new nested key at the end of its mapping, at its indentation, with its comment', () => {
    const out = applyYamlOps(instanceConfig, [
      { op: 'set', key: 'log/maxFiles', value: 10, comment: 'храним 10 файлов' },
    ]);
    expect(out).toBe(
      instanceConfig.replace(
        '  level: Info   # Debug для отладки\n',
        '  level: Info   # Debug для отладки\n  # храним 10 файлов\n  maxFiles: 10\n',
      ),
    );
  });

  it('quotes strings only when YAML 1.1 or 1.2 would read them as something else', () => {
    const values = [
      'yes',
      'on',
      'n',
      'true',
      '1.5',
      '0o17',
      '1:20',
      'a: b',
      '#x',
      '',
      ' padded',
      'multi\nline',
      'plain text',
    ];
    const ops: YamlOp[] = values.map((value, i) => ({ op: 'set', key: `k${i}`, value }));
    const out = applyYamlOps('', ops);
    expect(out).toBe(
      [
        'k0: "yes"',
        'k1: "on"',
        'k2: "n"',
        'k3: "true"',
        'k4: "1.5"',
        'k5: "0o17"',
        'k6: "1:20"',
        'k7: "a: b"',
        'k8: "#x"',
        'k9: ""',
        'k10: " padded"',
        'k11: "multi\\nline"',
        'k12: plain text',
        '',
      ].join('\n'),
    );
    expect(parse(out, { version: '1.1' })).toEqual(Object.fromEntries(values.map((v, i) => [`k${i}`, v])));
  });

  it('writes numbers, booleans, null and small lists and maps in block style at the right indent', () => {
    const before = 'server:\n    port: 8080\n    hosts:\n    - a\n';
    const out = applyYamlOps(before, [
      { op: 'set', key: 'server/tls', value: { enabled: false, ciphers: ['AES', 'CHACHA'], extra: {} } },
      { op: 'set', key: 'server/timeout', value: null },
      { op: 'set', key: 'server/ratio', value: 0.5 },
      { op: 'set', key: 'server/hosts', value: ['a', 'b'] },
      { op: 'set', key: 'server/port', value: [] },
    ]);
    // The file indents mappings by 4 and lists by 0 under their key; new blocks follow it.
    expect(out).toBe(
      [
        'server:',
        '    port: []',
        '    hosts:',
        '    - a',
        '    - b',
        '    tls:',
        '        enabled: false',
        '        ciphers:',
        '        - AES',
        '        - CHACHA',
        '        extra: {}',
        '    timeout: null',
        '    ratio: 0.5',
        '',
      ].join('\n'),
    );
  });

  it('writes lists of mappings with the first key on the dash line', () => {
    const out = applyYamlOps('a: 1\n', [
      { op: 'set', key: 'nodes', value: [{ host: '10.0.0.10', port: 47500 }, ['x']] },
    ]);
    expect(out).toBe('a: 1\nnodes:\n  - host: 10.0.0.10\n    port: 47500\n  - - x\n');
  });

  it('creates missing parent mappings and fills an empty parent', () => {
    expect(applyYamlOps('a: 1\n', [{ op: 'set', key: 'db/lock/enabled', value: true, comment: 'why' }])).toBe(
      'a: 1\ndb:\n  lock:\n    # why\n    enabled: true\n',
    );
    expect(applyYamlOps('db:\nb: 2\n', [{ op: 'set', key: 'db/holdLock', value: true }])).toBe(
      'db:\n  holdLock: true\nb: 2\n',
    );
    expect(applyYamlOps('db: {}  # empty\n', [{ op: 'set', key: 'db/holdLock', value: true }])).toBe(
      'db: # empty\n  holdLock: true\n',
    );
  });

  it('fills an empty value and replaces a block value by a scalar and back', () => {
    expect(applyYamlOps('a:\nb: 2\n', [{ op: 'set', key: 'a', value: 1 }])).toBe('a: 1\nb: 2\n');
    expect(applyYamlOps('a: # later\nb: 2\n', [{ op: 'set', key: 'a', value: 1 }])).toBe(
      'a: 1 # later\nb: 2\n',
    );
    const list = 'nodes:\n  - a\n  - b\n  # - c\nnext: 1\n';
    expect(applyYamlOps(list, [{ op: 'set', key: 'nodes', value: 'none' }])).toBe('nodes: none\nnext: 1\n');
    expect(applyYamlOps('nodes: none # why\nnext: 1\n', [{ op: 'set', key: 'nodes', value: ['a'] }])).toBe(
      'nodes: # why\n  - a\nnext: 1\n',
    );
    expect(
      applyYamlOps('text: |\n  line one\n  line two\nnext: 1\n', [{ op: 'set', key: 'text', value: 'one' }]),
    ).toBe('text: one\nnext: 1\n');
  });

  it('adds to an empty or comment-only file', () => {
    expect(applyYamlOps('', [{ op: 'set', key: 'a', value: 1 }])).toBe('a: 1\n');
    expect(applyYamlOps('# only a header', [{ op: 'set', key: 'a', value: 1 }])).toBe(
      '# only a header\na: 1',
    );
  });

  it('treats numbers equal in YAML as the same value (no change)', () => {
    const before = 'port: 8080.0\nenabled: True\n';
    expect(applyYamlOps(before, [{ op: 'set', key: 'port', value: 8080 }])).toBe(before);
    expect(applyYamlOps(before, [{ op: 'set', key: 'enabled', value: true }])).toBe(before);
  });
});

describe('applyYamlOps delete', () => {
  it('removes the attached comment above, the value block, and deeper comments below it', () => {
    const before = [
      'a: 1',
      '# about nodes',
      'nodes:',
      '  - x # first',
      '  # - y',
      '# about b',
      'b: 2',
      '',
    ].join('\n');
    expect(applyYamlOps(before, [{ op: 'delete', key: 'nodes' }])).toBe('a: 1\n# about b\nb: 2\n');
  });

  it('keeps a comment separated by a blank line, and the file header', () => {
    const before = '# header\nfirst: 1\n\n# section\n\nsecond: 2\nthird: 3\n';
    expect(applyYamlOps(before, [{ op: 'delete', key: 'first' }])).toBe(
      '# header\n\n# section\n\nsecond: 2\nthird: 3\n',
    );
    expect(applyYamlOps(before, [{ op: 'delete', key: 'second' }])).toBe(
      '# header\nfirst: 1\n\n# section\n\nthird: 3\n',
    );
  });

  it('keeps a comment at another indentation (it belongs to the block above)', () => {
    const before = 'log:\n  level: Info\n  # level: Debug\nother: 1\n';
    expect(applyYamlOps(before, [{ op: 'delete', key: 'other' }])).toBe(
      'log:\n  level: Info\n  # level: Debug\n',
    );
  });

  it('removes nested keys, leaving an emptied parent an empty mapping', () => {
    expect(applyYamlOps('log:\n  path: /x\n  level: Info\nb: 1\n', [{ op: 'delete', key: 'log/path' }])).toBe(
      'log:\n  level: Info\nb: 1\n',
    );
    expect(applyYamlOps('log:\n  path: /x\nb: 1\n', [{ op: 'delete', key: 'log/path' }])).toBe(
      'log: {}\nb: 1\n',
    );
    expect(applyYamlOps('log: # why\n  path: /x\n', [{ op: 'delete', key: 'log/path' }])).toBe(
      'log: {} # why\n',
    );
  });

  it('deletes a missing key as a no-op', () => {
    expect(applyYamlOps(instanceConfig, [{ op: 'delete', key: 'nothing/here' }])).toBe(instanceConfig);
  });

  it('keeps a missing final newline missing', () => {
    expect(applyYamlOps('a: 1\nb: 2', [{ op: 'delete', key: 'b' }])).toBe('a: 1');
    expect(applyYamlOps('a: 1\r\nb: 2', [{ op: 'delete', key: 'b' }])).toBe('a: 1');
  });
});

describe('applyYamlOps errors', () => {
  const errorOf = (before: string, ops: YamlOp[]): EditError => {
    try {
      applyYamlOps(before, ops);
    } catch (e) {
      if (e instanceof EditError) return e;
      throw e;
    }
    throw new Error('expected an EditError');
  };

  it('names the key path and line:col for a path through a non-mapping', () => {
    const e = errorOf(instanceConfig, [{ op: 'set', key: 'clusterNodes/primary', value: 'x' }]);
    expect(e.message).toBe(
      'yaml key "clusterNodes/primary" (line 12:3): clusterNodes is a list, not a mapping, so it has no key "primary". Check the key path against the file.',
    );
    expect(e.detail).toEqual({ editor: 'yaml', target: 'clusterNodes/primary', line: 12, col: 3 });
    expect(errorOf('a: text\n', [{ op: 'delete', key: 'a/b' }]).message).toContain(
      'a is a string, not a mapping',
    );
  });

  it('names the position of a YAML syntax error', () => {
    const e = errorOf('a: 1\nb: [1, 2\nc: 3\n', [{ op: 'set', key: 'a', value: 2 }]);
    expect(e.message).toMatch(
      /^yaml key "a": the file is not valid YAML at line \d+:\d+: .+\. Fix the file on the host first/,
    );
    expect(errorOf('a: 1\na: 2\n', [{ op: 'set', key: 'a', value: 2 }]).message).toContain(
      'not valid YAML at line 2:1: Map keys must be unique',
    );
  });

  it('refuses several documents, flow mappings, empty path parts and values it cannot write', () => {
    expect(errorOf('a: 1\n---\nb: 2\n', [{ op: 'delete', key: 'a' }]).message).toContain(
      'several YAML documents',
    );
    expect(errorOf('a: {x: 1}\n', [{ op: 'set', key: 'a/y', value: 1 }]).message).toBe(
      'yaml key "a/y" (line 1:4): cannot add a key to a flow mapping ({ ... }); rewrite it in block style',
    );
    expect(errorOf('a: 1\n', [{ op: 'set', key: 'a//b', value: 1 }]).message).toContain('no empty part');
    class Secretish {
      toString() {
        return 'hunter2';
      }
    }
    const e = errorOf('a: 1\n', [{ op: 'set', key: 'db.password', value: new Secretish() }]);
    expect(e.message).toBe(
      'yaml key "db.password": the value is a Secretish; expected a string, number, boolean, null, list or mapping (render templates before editing)',
    );
    expect(e.message).not.toContain('hunter2');
  });

  it('refuses to replace an anchored value other keys may refer to, or write a block into a flow mapping', () => {
    expect(errorOf('base: &b 1\nother: *b\n', [{ op: 'set', key: 'base', value: 2 }]).message).toBe(
      'yaml key "base" (line 1:10): the value has an anchor (&b) other keys may refer to; edit it by hand',
    );
    expect(errorOf('a: {x: 1}\n', [{ op: 'set', key: 'a/x', value: [1, 2] }]).message).toBe(
      'yaml key "a/x" (line 1:5): cannot write a block list or mapping inside a flow mapping ({ ... }); rewrite it in block style',
    );
    expect(errorOf('a: {x: 1}\n', [{ op: 'delete', key: 'a/x' }]).message).toContain(
      'cannot remove a key from a flow mapping',
    );
  });

  it('a flow mapping still has its existing values replaced', () => {
    expect(applyYamlOps('a: {x: 1, y: 2}\n', [{ op: 'set', key: 'a/y', value: 3 }])).toBe(
      'a: {x: 1, y: 3}\n',
    );
  });
});
