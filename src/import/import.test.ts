/**
 * The two seeds and an English runbook import into drafts that the real loader accepts, with
 * every command of the document accounted for and the recognised kinds checked step by step.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunbook } from '../runbook/load.js';
import { namedIn } from './hosts.js';
import { importMarkdown } from './import.js';
import type { ImportResult } from './model.js';
import { summarize } from './report.js';

const SEEDS = resolve(import.meta.dirname, '../../examples/seeds');
const DOCUMENTS = {
  comindware: join(SEEDS, '000_242cadced4fd0863.txt'),
  ecsc: join(SEEDS, '004_f4a6607741ac3393.txt'),
  elasticsearch: resolve(import.meta.dirname, 'fixtures/english-elasticsearch.md'),
};

/**
 * The counting rule of src/import/commands.ts, written again here without remark so the two
 * cross-check: every line of a fenced (``` or ~~~) or 4-space indented code block, except blank
 * lines, `#` comments, all lines of blocks whose info string is not a shell (yml, text, ...),
 * lines without a `$ ` prompt in console blocks, and output samples (`...`, timestamps, log
 * levels); a line ending in `\` is joined with the next and counted once, at its first line.
 */
function countCommands(text: string): Map<number, string> {
  const out = new Map<number, string>();
  const shells = ['', 'sh', 'bash', 'shell', 'zsh', 'console'];
  const output =
    /^(\.\.\.|…|\[?\d{4}-\d\d-\d\d|\[?\d\d:\d\d|\[?(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL)\b)/;
  let fence: string | undefined;
  let joined: { line: number; text: string } | undefined;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    const marker = /^(```|~~~)\s*(\S*)/.exec(trimmed);
    if (marker && fence === undefined) {
      fence = (marker[2] ?? '').toLowerCase();
      return;
    }
    if (marker && fence !== undefined) {
      fence = undefined;
      return;
    }
    const inCode = fence !== undefined ? shells.includes(fence) : /^ {4}\S/.test(raw);
    if (!inCode) return;
    if (joined) {
      joined.text += ` ${trimmed.replace(/\\$/, '').trim()}`;
      if (!trimmed.endsWith('\\')) {
        out.set(joined.line, joined.text);
        joined = undefined;
      }
      return;
    }
    const prompted = trimmed.startsWith('$ ');
    if (trimmed === '' || (fence === 'console' && !prompted) || (!prompted && trimmed.startsWith('#')))
      return;
    const body = prompted ? trimmed.slice(2).trim() : trimmed;
    if (!prompted && output.test(body)) return;
    if (body.endsWith('\\')) joined = { line: i + 1, text: body.slice(0, -1).trim() };
    else out.set(i + 1, body);
  });
  return out;
}

/** `# FILE:LINE $ command` quotes (plain, or at the end of a `# TODO ...` comment) in the draft. */
function quotedCommands(yaml: string, file: string): Map<number, string> {
  const out = new Map<number, string>();
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const quote = new RegExp(`^\\s*#.*?${escaped}:(\\d+) \\$ (.*)$`);
  for (const line of yaml.split('\n')) {
    const m = quote.exec(line);
    if (m) out.set(Number(m[1]), m[2] as string);
  }
  return out;
}

async function importAndLoad(path: string) {
  const file = basename(path);
  const result = importMarkdown(readFileSync(path, 'utf8'), file);
  const out = join(mkdtempSync(join(tmpdir(), 'cutover-import-')), 'runbook.yml');
  writeFileSync(out, result.yaml);
  const loaded = await loadRunbook(out);
  return { file, result, out, ...loaded };
}

/** Every command is quoted in the draft and is a step's source, folded into one, or a TODO that says why no step is needed. */
async function expectAccounted(
  path: string,
): Promise<{ result: ImportResult; steps: number; todos: number }> {
  const { file, result, runbook, warnings } = await importAndLoad(path);
  const commands = countCommands(readFileSync(path, 'utf8'));
  expect(commands.size).toBeGreaterThan(0);
  expect(quotedCommands(result.yaml, file)).toEqual(commands);
  expect(new Map(result.commands.map((c) => [c.line, c.text]))).toEqual(commands);

  const steps = runbook.phases.flatMap((p) => p.steps.map((s) => ({ phase: p.id, ...s })));
  const proseLines = new Set(result.prose.map((p) => p.line));
  for (const step of steps) {
    const m = new RegExp(`^${file.replace(/\./g, '\\.')}:(\\d+)$`).exec(step.source ?? '');
    expect(m, `${step.phase}/${step.id} has source FILE:LINE`).not.toBeNull();
    const line = Number(m?.[1]);
    expect(
      commands.has(line) || proseLines.has(line),
      `${step.phase}/${step.id} comes from line ${line}`,
    ).toBe(true);
  }
  for (const record of result.commands) {
    const made = steps.filter((s) => record.steps.includes(`${s.phase}/${s.id}`));
    if (record.outcome === 'step') {
      expect(made.length, `line ${record.line} became steps`).toBeGreaterThan(0);
      for (const s of made) if (!record.recognised && s.kind === 'shell.run') expect(s.todo).toBeTruthy();
    }
    if (record.outcome === 'covered') {
      expect(result.yaml).toMatch(new RegExp(`# TODO .*${file.replace(/\./g, '\\.')}:${record.line} \\$`));
    }
    if (record.outcome === 'folded') expect(record.why).toMatch(/folder|kill|cwd/);
  }
  const todoSteps = steps.filter((s) => s.todo !== undefined).length;
  const todoComments = (result.yaml.match(/^\s*# TODO\b/gm) ?? []).length;
  expect(warnings.filter((w) => /TODO/.test(w.message)).length).toBe(todoSteps + todoComments);
  return { result, steps: steps.length, todos: todoSteps + todoComments };
}

async function kindsOf(path: string): Promise<[string, string][]> {
  const { runbook } = await importAndLoad(path);
  return runbook.phases.flatMap((p) => p.steps.map((s): [string, string] => [`${p.id}/${s.id}`, s.kind]));
}

describe('import: seed 000 (Russian, Comindware, numbered items, no headings)', () => {
  it('loads with the real loader; every command is accounted for', async () => {
    const { result, steps } = await expectAccounted(DOCUMENTS.comindware);
    expect(result.commands).toHaveLength(17);
    expect(steps).toBe(28);
  });

  it('recognises the kinds step by step', async () => {
    const repeated: [string, string][] = [
      ['stop-apigateway', 'service.stop'],
      ['stop-comindware', 'service.stop'],
      ['stop-adapterhost', 'service.stop'],
      ['run-instance-upgrade', 'shell.run'],
      ['check-apigateway-active', 'shell.run'],
      ['wait-heartbeat', 'wait.log'],
      ['wait-igniteclient', 'wait.log'],
      ['remove-hold-lock', 'file.remove'],
      ['wait-heartbeat-2', 'wait.log'],
      ['verify', 'gate.confirm'],
    ];
    expect(await kindsOf(DOCUMENTS.comindware)).toEqual([
      ['item-1/download', 'file.download'],
      ['item-2/extract', 'archive.extract'],
      ['item-3/run-version-install', 'shell.run'],
      ['item-3/run-version-list', 'shell.run'],
      ['item-3/run-instance-list', 'shell.run'],
      ['item-4/edit-instance', 'yaml.edit'],
      ...repeated.map(([id, kind]): [string, string] => [`item-5/${id}`, kind]),
      ['6-nginx/route-comindware', 'nginx.route'],
      ['6-nginx/route-comindware-2', 'nginx.route'],
      // "7. выполнить последовательность из П.5": item 5's steps again, on hosts to name.
      ...repeated.map(([id, kind]): [string, string] => [`item-7/${id}`, kind]),
    ]);
  });

  it('turns placeholders into params and host dates, the password into a secret, and keeps the details', async () => {
    const { runbook, result } = await importAndLoad(DOCUMENTS.comindware);
    expect(Object.keys(runbook.params)).toEqual([
      'path_to_distr',
      'distr',
      'version',
      'os',
      'path_to_shared_folder',
      'cmw_devops',
      'instanceName',
      'upstream',
    ]);
    expect(runbook.params.version?.type).toBe('version');
    expect(runbook.secrets.teamcity_password?.from).toEqual([{ env: 'TEAMCITY_PASSWORD' }, { prompt: true }]);
    const step = (phase: string, id: string) =>
      runbook.phases.find((p) => p.id === phase)?.steps.find((s) => s.id === id);
    expect(step('item-1', 'download')?.params).toEqual({
      url: 'https://teamcity.comindware.com/repository/download/{{ params.path_to_distr }}/5.0-{{ params.distr }}-{{ params.version }}.{{ params.os }}.tar.gz',
      dest: '/{{ params.path_to_shared_folder }}/5.0-{{ params.distr }}-{{ params.version }}.{{ params.os }}.tar.gz',
      user: '{{ params.cmw_devops }}',
      password: '{{ secrets.teamcity_password }}',
    });
    // `cd` in item 2 gives tar its folder; `cd` in item 3 gives item 5's relative script its folder, with a note.
    expect(step('item-2', 'extract')?.params.dest).toBe('/{{ params.path_to_shared_folder }}/');
    const upgrade = step('item-5', 'run-instance-upgrade');
    expect(upgrade?.params).toEqual({
      command:
        'bash instance_upgrade.sh -n={{ params.instanceName }} -vp=/var/www/.cmw_version/{{ params.version }}',
      cwd: '/{{ params.path_to_shared_folder }}/CMW_{{ params.os }}_{{ params.version }}/scripts',
    });
    expect(upgrade?.todo).toMatch(/comes from `cd` at line 29, in an earlier section/);
    // The log waits: a message from the text (a guess, marked), one from the sample log line, one with none.
    expect(step('item-5', 'wait-heartbeat')?.params).toEqual({
      path: "/var/log/comindware/{{ params.instanceName }}/heartbeat_{{ host.date('%Y-%m-%d') }}.log",
      pattern: 'db\\.workDir/hold\\.lock',
    });
    expect(step('item-5', 'wait-heartbeat')?.todo).toMatch(
      /check the date format.*pattern taken from the text at line 76/,
    );
    expect(step('item-5', 'wait-igniteclient')?.params.pattern).toBe(
      'Skipping rebalancing \\(nothing scheduled\\)',
    );
    expect(step('item-5', 'wait-heartbeat-2')?.todo).toMatch(/only watches this log/);
    expect(step('item-5', 'check-apigateway-active')).toMatchObject({ retries: 5, retryDelayMs: 2000 });
    expect(step('item-4', 'edit-instance')?.params).toEqual({
      file: '/usr/share/comindware/configs/instance/{{ params.instanceName }}.yml',
      set: {
        'db.waitForClusterActivation': true,
        'db.waitForFileActivation': '/var/www/.cmw_environment/{{ params.instanceName }}',
        'db.holdLock': true,
      },
      delete: ['isContainerEnvironment', 'clusterNodes'],
      comments: {
        'db.waitForClusterActivation': 'Ожидает активации кластера перед запуском',
        'db.waitForFileActivation': 'Ожидает наличие файла перед запуском',
        'db.holdLock': 'Не загружает платформу пока существует файл db.workDir/hold.lock',
      },
    });
    expect(step('6-nginx', 'route-comindware')?.params).toEqual({
      config: '/etc/nginx/sites-enabled/comindware{{ params.instanceName }}',
      locations: ['/async', '/'],
      upstream: '{{ params.upstream }}',
    });
    const phases = Object.fromEntries(runbook.phases.map((p) => [p.id, p.hosts]));
    expect(phases['item-3']).toEqual({}); // "На каждом узле": all hosts, no TODO
    expect(result.yaml).toMatch(/# TODO which hosts run this phase.*\n\s+hosts: all/);
    expect(result.yaml).toMatch(/# TODO line 109 repeats phase item-5 on other hosts/);
    expect(result.yaml).toMatch(/item 0 gives no command \("СОЗДАТЬ РЕЗЕРВНУЮ КОПИЮ!/);
    // The prose stays, as comments, next to the steps.
    expect(result.yaml).toContain('# Дождаться сообщения об окончании ребалансировки кластера');
  });
});

describe('import: seed 004 (Chinese, four services, headings)', () => {
  it('loads with the real loader; every command is accounted for', async () => {
    const { result, steps } = await expectAccounted(DOCUMENTS.ecsc);
    expect(result.commands).toHaveLength(32);
    expect(steps).toBe(27);
    expect(result.commands.filter((c) => c.outcome === 'covered').map((c) => c.line)).toEqual([
      147, 153, 159, 165,
    ]);
  });

  it('recognises the kinds step by step', async () => {
    const tomcat = (phase: string, service: string): [string, string][] => [
      [`${phase}/upload-${service}-tar`, 'file.upload'],
      [`${phase}/stop-java`, 'process.stop'],
      [`${phase}/backup-${service}`, 'backup.copy'],
      [`${phase}/extract-${service}`, 'archive.extract'],
      [`${phase}/start-apache-tomcat-7-0-67`, 'process.start'],
      [`${phase}/wait-catalina`, 'wait.log'],
      [`${phase}/wait-${service}`, 'wait.log'],
    ];
    const nohup = (phase: string, service: string, log: string): [string, string][] => [
      [`${phase}/upload-${service}-tar`, 'file.upload'],
      [`${phase}/stop-java`, 'process.stop'],
      [`${phase}/backup-${service}`, 'backup.copy'],
      [`${phase}/extract-${service}`, 'archive.extract'],
      [`${phase}/start-${service}`, 'process.start'],
      [`${phase}/wait-${log}`, 'wait.log'],
    ];
    expect(await kindsOf(DOCUMENTS.ecsc)).toEqual([
      ...tomcat('2-1-ecsc', 'ecsc'),
      ...tomcat('2-2-ecmc', 'ecmc'),
      ...nohup('2-3-schedule', 'schedule', 'schedule'),
      ...nohup('2-4-schedule-res', 'schedule-res', 'scheduleres'),
      ['section-3/verify', 'gate.confirm'],
    ]);
  });

  it('reads hosts, signals, dated backups, folders and the rollback the way a careful operator would', async () => {
    const { runbook, result } = await importAndLoad(DOCUMENTS.ecsc);
    const phase = (id: string) => runbook.phases.find((p) => p.id === id);
    const step = (p: string, id: string) => phase(p)?.steps.find((s) => s.id === id);
    // 登录`ecsc-1` ... 登录`ecsc-2`，重复以上步骤: the phase runs on both, in that order.
    expect(phase('2-1-ecsc')?.hosts).toEqual({ hosts: ['ecsc-1', 'ecsc-2'] });
    expect(phase('2-4-schedule-res')?.hosts).toEqual({ hosts: ['schedule-res-1', 'schedule-res-2'] });
    expect(step('2-1-ecsc', 'stop-java')?.params).toEqual({
      match: 'java',
      signal: 'KILL',
      restart: '/home/apache-tomcat-7.0.67/bin/startup.sh',
      cwd: '/home',
    });
    expect(step('2-1-ecsc', 'stop-java')?.todo).toMatch(/matches every process .* make match exact/);
    expect(step('2-3-schedule', 'stop-java')?.params).toEqual({
      match: 'java',
      restart: 'sh startup.sh',
      cwd: '/home/schedule',
    });
    expect(step('2-1-ecsc', 'backup-ecsc')?.params).toEqual({
      src: '/home/ecsc',
      dest: "/home/ecsc_{{ host.date('%Y%m%d') }}",
    });
    // 在`/home`目录下解压`ecsc.tar`: the folder comes from the text.
    expect(step('2-1-ecsc', 'extract-ecsc')?.params).toEqual({ archive: '/home/ecsc.tar', dest: '/home' });
    expect(step('2-1-ecsc', 'upload-ecsc-tar')?.params).toEqual({ src: 'ecsc.tar', dest: '/home/ecsc.tar' });
    expect(step('2-3-schedule', 'start-schedule')?.params).toEqual({
      command: 'sh startup.sh',
      cwd: '/home/schedule',
      log: '/home/schedule/nohup.out',
    });
    expect(step('2-1-ecsc', 'wait-catalina')?.params.pattern).toBe('Server startup in');
    // The rollback section: no steps; each restore is the undo of its backup.copy (the seed's cp -R would copy into the folder).
    expect(result.yaml).toContain(
      "# TODO restores the backup of step 2-1-ecsc/backup-ecsc: `cutover rollback` does it with that step's undo",
    );
    expect(runbook.phases.some((p) => /回滚|4\.\d/.test(p.name))).toBe(false);
  });
});

describe('import: an English runbook (Elasticsearch, different commands)', () => {
  it('loads with the real loader; every command is accounted for', async () => {
    const { result, steps } = await expectAccounted(DOCUMENTS.elasticsearch);
    expect(result.commands).toHaveLength(19);
    expect(steps).toBe(19);
  });

  it('recognises the kinds step by step', async () => {
    const upgrade = (id: string) => `3-upgrade-es-1/${id}`;
    expect(await kindsOf(DOCUMENTS.elasticsearch)).toEqual([
      ['1-download-the-release/download-elasticsearch-linux-x86-64', 'file.download'],
      ['1-download-the-release/sha512sum-c', 'shell.run'],
      ['2-prepare-the-cluster/put-cluster-settings', 'http.request'],
      ['2-prepare-the-cluster/post-flush', 'http.request'],
      [upgrade('stop-metricbeat'), 'service.stop'],
      [upgrade('stop-elasticsearch'), 'service.stop'],
      [upgrade('stop-snapwatch'), 'process.stop'],
      [upgrade('backup-elasticsearch'), 'backup.copy'],
      [upgrade('extract-elasticsearch-linux-x86-64'), 'archive.extract'],
      [upgrade('ln-sfn'), 'shell.run'],
      [upgrade('edit-elasticsearch'), 'yaml.edit'],
      [upgrade('remove-plugin-cache'), 'file.remove'],
      [upgrade('start-elasticsearch'), 'service.start'],
      [upgrade('start-metricbeat'), 'service.start'],
      [upgrade('wait-search'), 'wait.log'],
      [upgrade('start-snapwatch'), 'process.start'],
      [upgrade('get-cat-health'), 'http.request'],
      [upgrade('put-cluster-settings'), 'http.request'],
      [upgrade('verify'), 'gate.confirm'],
    ]);
  });

  it('handles continuations, indented and console blocks, pid files, $(date) and "Repeat section 3"', async () => {
    const { runbook, result } = await importAndLoad(DOCUMENTS.elasticsearch);
    const upgrade = runbook.phases.find((p) => p.id === '3-upgrade-es-1');
    const step = (id: string) => upgrade?.steps.find((s) => s.id === id);
    expect(upgrade?.hosts).toEqual({ hosts: ['es-1', 'es-2', 'es-3'] });
    expect(step('stop-snapwatch')?.params).toEqual({
      pidfile: '/var/run/snapwatch.pid',
      restart: './snapwatch --config /etc/snapwatch.ini',
      cwd: '/opt/snapwatch',
    });
    expect(step('backup-elasticsearch')?.params).toEqual({
      src: '/etc/elasticsearch',
      dest: "/etc/elasticsearch.{{ host.date('%Y%m%d') }}",
    });
    expect(step('extract-elasticsearch-linux-x86-64')?.params).toEqual({
      archive: '/mnt/releases/elasticsearch-{{ params.version }}-linux-x86_64.tar.gz',
      dest: '/opt',
      strip: 1,
    });
    expect(step('edit-elasticsearch')?.params).toEqual({
      file: '/etc/elasticsearch/elasticsearch.yml',
      set: { 'cluster.routing.allocation.disk.watermark.low': '90%' },
      delete: ['discovery.zen.minimum_master_nodes'],
      comments: {
        'cluster.routing.allocation.disk.watermark.low': 'leave room for the merge of the largest shard',
      },
    });
    expect(step('wait-search')?.params).toEqual({
      path: '/var/log/elasticsearch/search.log',
      pattern: 'Cluster health status changed from \\[RED\\] to \\[YELLOW\\]',
    });
    expect(step('wait-search')?.todo).toBeUndefined();
    expect(step('start-snapwatch')?.params).toEqual({
      command: './snapwatch --config /etc/snapwatch.ini',
      cwd: '/opt/snapwatch',
      log: '/var/log/snapwatch.log',
    });
    expect(step('put-cluster-settings')?.params).toEqual({
      url: 'http://{{ host.address }}:9200/_cluster/settings',
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: '{"persistent":{"cluster.routing.allocation.enable":null}}',
    });
    const download = runbook.phases[0]?.steps[0];
    expect(download?.params).toMatchObject({
      url: 'https://artifacts.example.com/elastic/elasticsearch-{{ params.version }}-linux-x86_64.tar.gz',
      user: '{{ params.artifactory_user }}',
      password: '{{ secrets.artifacts_password }}',
    });
    // The rollback's restore is the undo of the dated backup.
    expect(result.yaml).toMatch(/# TODO restores the backup of step 3-upgrade-es-1\/backup-elasticsearch/);
    expect(result.prose.map((p) => p.effect)).toContain('phase 3-upgrade-es-1 also runs on es-2, es-3');
  });

  it('writes the same draft every time', () => {
    const text = readFileSync(DOCUMENTS.elasticsearch, 'utf8');
    expect(importMarkdown(text, 'es.md').yaml).toBe(importMarkdown(text, 'es.md').yaml);
  });
});

describe('import: small documents', () => {
  it('"set `k=v` in `/etc/x.properties`" becomes a text.edit with a TODO; without keys, a gate', async () => {
    const text =
      '# Up\n\n## 1. Configure\n\nSet `server.port=8081` and `checkout.v2.enabled=true` in `/etc/shop/application.properties`.\n\n```\nsudo systemctl restart shop\n```\n';
    const result = importMarkdown(text, 'up.md');
    const steps = result.phases.flatMap((p) => p.entries.flatMap((e) => ('step' in e ? [e.step] : [])));
    expect(steps.map((s) => s.kind)).toEqual(['text.edit', 'service.restart']);
    expect(steps[0]?.params).toEqual({
      file: '/etc/shop/application.properties',
      set: { 'server.port': '8081', 'checkout.v2.enabled': 'true' },
    });
    expect(steps[0]?.todo.join('; ')).toMatch(/the text at line 5 says to set `server.port=8081`/);
    const out = join(mkdtempSync(join(tmpdir(), 'cutover-import-')), 'runbook.yml');
    writeFileSync(out, result.yaml);
    await expect(loadRunbook(out)).resolves.toMatchObject({ runbook: { phases: expect.any(Array) } });
    // A file with no key=value dialect, or no keys: a person edits it.
    for (const line of [
      'Set `port=1` in `/etc/app/app.cfg`.',
      'Edit `/etc/shop/application.properties` as the vendor says.',
      'Set `a=1` and `a=2` in `/etc/shop/application.properties`.',
    ]) {
      const kinds = importMarkdown(`# Up\n\n## 1. Configure\n\n${line}\n`, 'up.md').phases.flatMap((p) =>
        p.entries.flatMap((e) => ('step' in e ? [e.step.kind] : [])),
      );
      expect(kinds, line).toEqual(['gate.confirm']);
    }
    // "Set up" names no edit, and keeps the folder of the commands after it.
    const setUp = importMarkdown(
      '# Up\n\n## 1. Go\n\nIn `/opt/app` set up the tools:\n\n```\nbash install.sh\n```\n',
      'up.md',
    );
    const install = setUp.phases.flatMap((p) => p.entries.flatMap((e) => ('step' in e ? [e.step] : [])));
    expect(install.map((s) => [s.kind, (s.params as { cwd?: string }).cwd])).toEqual([
      ['shell.run', '/opt/app'],
    ]);
  });

  it('waits for the output a console block shows after tail -f', () => {
    const text =
      '# Up\n\n## 1. Start on `web-1`\n\n```console\n$ tail -f /var/log/app.log\n2024-05-02 10:11:12 INFO  Started app in 3.1 s\n```\n';
    const { phases } = importMarkdown(text, 'up.md');
    const step = phases[0]?.entries.find((e) => 'step' in e);
    expect(step && 'step' in step && step.step.params).toEqual({
      path: '/var/log/app.log',
      pattern: 'Started app in 3\\.1 s',
    });
  });

  it('a ## Rollback (or a # title) around numbered items never makes them one phase', () => {
    const seed = readFileSync(DOCUMENTS.comindware, 'utf8');
    const plain = importMarkdown(seed, 'seed.txt');
    const rollback =
      '\n## Rollback\n\nStart the old version again:\n\n```sh\nsystemctl start comindware<instanceName>\n```\n';
    for (const text of [`${seed}${rollback}`, `# Upgrade\n\n${seed}${rollback}`]) {
      const result = importMarkdown(text, 'seed.txt');
      const shape = (r: ImportResult) => r.phases.map((p) => [p.name.replace(/^\d+\. /, ''), p.hosts]);
      expect(shape(result)).toEqual(shape(plain));
      expect(summarize(result).todos).toBeGreaterThanOrEqual(summarize(plain).todos);
      expect(result.commands[result.commands.length - 1]).toMatchObject({ outcome: 'covered', steps: [] });
    }
  });

  it('a loop over hosts or an ssh to one names them', () => {
    expect(
      namedIn('for h in app01 app02; do ssh $h sudo systemctl restart app; done', [], new Map()),
    ).toEqual([
      { text: 'app01', host: 'app01' },
      { text: 'app02', host: 'app02' },
    ]);
    expect(namedIn('ssh -p 2222 admin@db-02 uptime', [], new Map())).toEqual([
      { text: 'db-02', host: 'db-02' },
    ]);
    expect(namedIn('ssh -i ~/.ssh/id db-03 uptime', [], new Map())).toEqual([
      { text: 'db-03', host: 'db-03' },
    ]);
    expect(namedIn('systemctl restart tomcat9 postgresql-15', [], new Map())).toEqual([]);
  });

  it('a command naming one host (in a URL, after @) that its phase runs on every host gets a TODO', () => {
    const text =
      '# Up\n\n## Check\n\nOn every node:\n\n```sh\ncurl -f http://app01:8080/health\ntail -f /var/log/rabbitmq/rabbit@mq-03.log | grep -m1 started\ncurl -f http://repo.example.com/x\n```\n';
    const result = importMarkdown(text, 'up.md');
    const todos = result.phases[0]?.entries.flatMap((e) => ('step' in e ? [e.step.todo.join('; ')] : []));
    expect(todos).toEqual([
      expect.stringMatching(/names app01 but this phase runs on every host/),
      expect.stringMatching(/names mq-03 but this phase runs on every host/),
      '',
    ]);
  });

  it('a block whose text names other hosts than its phase ("On `app01`:") gets a TODO', () => {
    const text = [
      '# Deploy',
      '',
      '## Take app01 out and restart it',
      '',
      'On `lb-01`:',
      '',
      '```sh',
      'echo "disable server be/app01" | socat stdio /run/haproxy/admin.sock',
      '```',
      '',
      'Then on `app01`:',
      '',
      '```sh',
      'systemctl restart shop',
      '```',
      '',
    ].join('\n');
    const result = importMarkdown(text, 'lb.md');
    expect(result.phases.map((p) => p.hosts)).toEqual([['lb-01']]);
    const steps = result.phases[0]?.entries.flatMap((e) => ('step' in e ? [e.step] : [])) ?? [];
    expect(steps.map((s) => s.kind)).toEqual(['shell.run', 'service.restart']);
    expect(steps[1]?.todo).toEqual([
      'the text at line 11 says to run this on app01; this phase runs on lb-01: move it to a phase on app01',
    ]);
    expect(result.commands[1]?.todo).toEqual(steps[1]?.todo);
  });

  it('hosts a sentence excludes ("except `pg-01`", "skip `app02`") are never taken silently', () => {
    for (const lead of [
      'Run this on all nodes except `pg-01`:',
      'Skip this on `pg-01`.',
      'На всех узлах, кроме `pg-01`:',
    ]) {
      const result = importMarkdown(
        `# Up\n\n## Restart\n\n${lead}\n\n\`\`\`sh\nsystemctl restart app\n\`\`\`\n`,
        'n.md',
      );
      expect(result.phases[0]?.hostsTodo, lead).toMatch(/if it excludes them, these are the wrong hosts/);
    }
    const except = importMarkdown(
      '# Up\n\n## Restart\n\nOn every node except the leader:\n\n```sh\nsystemctl restart app\n```\n',
      'e.md',
    );
    expect(except.phases[0]).toMatchObject({
      hosts: 'all',
      hostsTodo: expect.stringMatching(/every host is a guess/),
    });
    const plain = importMarkdown(
      '# Up\n\n## Restart\n\nOn `pg-01`:\n\n```sh\nsystemctl restart app\n```\n',
      'p.md',
    );
    expect(plain.phases[0]).toMatchObject({ hosts: ['pg-01'] });
    expect(plain.phases[0]?.hostsTodo).toBeUndefined();
  });

  it('a repeat of a range that is none says so', () => {
    const text = '1. Step\n\n```sh\nmyprog\n```\n\n2. Repeat steps 9–3 on `h-2`.\n';
    expect(importMarkdown(text, 'r.md').yaml).toContain(
      '# TODO line 7 repeats items 9–3, which is no range of items: copy the steps it means here',
    );
  });

  it('copies a repeat makes get ids of their own in the phase they join', async () => {
    const item = (n: number) => `${n}. Step ${n}\n\n\`\`\`sh\nmyprog\n\`\`\`\n\n`;
    const text = `${item(1)}${item(2)}3. Step 3\n\n\`\`\`sh\nmyprog\n\`\`\`\n\nRepeat steps 1–2 on \`h-2\`.\n`;
    const result = importMarkdown(text, 'ids.md');
    const last = result.phases[result.phases.length - 1];
    expect(last?.entries.flatMap((e) => ('step' in e ? [e.step.id] : []))).toEqual([
      'myprog',
      'myprog-2',
      'myprog-3',
    ]);
    const out = join(mkdtempSync(join(tmpdir(), 'cutover-import-')), 'runbook.yml');
    writeFileSync(out, result.yaml);
    await expect(loadRunbook(out)).resolves.toMatchObject({ runbook: { phases: expect.any(Array) } });
  });

  it('a placeholder only a rollback or another environment uses is no param', () => {
    const text =
      '# Up\n\n## Upgrade\n\nOn every node:\n\n```sh\nsystemctl restart app\n```\n\n## Rollback\n\n```sh\nsystemctl start app<old_instance>\n```\n\n## Staging\n\n```sh\nsystemctl start app<stage>\n```\n';
    const result = importMarkdown(text, 'up.md');
    expect(result.params).toEqual([]);
    expect(result.commands.map((c) => c.outcome)).toEqual(['step', 'covered', 'covered']);
    expect(result.commands[2]?.todo.join()).toMatch(/another environment/);
  });

  it('keeps a line it cannot read as shell as a shell.run with a TODO, and flags a repeat of an unknown item', async () => {
    const text = "1. Run\n\n```sh\necho 'unclosed\n```\n\n2. Repeat step 9 on `web-2`\n";
    const result = importMarkdown(text, 'odd.md');
    expect(result.commands[0]).toMatchObject({ line: 4, outcome: 'step', recognised: false });
    expect(result.commands[0]?.why).toMatch(/cannot be read as shell \(unclosed ' quote\)/);
    expect(result.yaml).toContain('# TODO line 7 repeats item 9, which has no steps in this draft: add them');
    const out = join(mkdtempSync(join(tmpdir(), 'cutover-import-')), 'runbook.yml');
    writeFileSync(out, result.yaml);
    await expect(loadRunbook(out)).resolves.toMatchObject({ runbook: { phases: [{ id: '1-run' }] } });
  });
});

describe('import: file samples', () => {
  const stepsOf = (md: string) =>
    importMarkdown(md, 'x.md').phases.flatMap((p) => p.entries.flatMap((e) => ('step' in e ? [e.step] : [])));

  it('a key=value block after an editor command is that file content: one exact text.edit, no command run', () => {
    const md = '1. Fix\n\n```\nsudo nano /etc/shop/app.properties\n```\n\n```\nserver.port=8081\n```\n';
    expect(stepsOf(md)).toMatchObject([
      {
        kind: 'text.edit',
        params: { file: '/etc/shop/app.properties', set: { 'server.port': '8081' } },
        todo: [],
      },
    ]);
  });

  it('a block of commands after "Edit FILE:" stays commands, and a sample never becomes the cwd', () => {
    const md =
      "1. Edit `/etc/shop/app.properties`:\n\n```\nsed -i 's/^a=.*/a=1/' /etc/shop/app.properties\nls\n```\n";
    const steps = stepsOf(md);
    expect(steps.map((s) => s.kind)).toEqual(['text.edit', 'shell.run']);
    expect(steps[1]?.params).not.toHaveProperty('cwd');
  });
});
