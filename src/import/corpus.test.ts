/**
 * The import corpus (src/import/corpus/): eight runbooks written the way operators write them
 * (tables of hosts, numbered lists mixed with headings, prose around code, rollback sections,
 * other environments; English, Russian, Chinese). Each expected draft was reviewed by hand:
 * per document its phases and host order, what each command became, and a TODO wherever the
 * draft does something other than the document (a dropped condition, a guessed host, a rewrite).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunbook } from '../runbook/load.js';
import { importMarkdown } from './import.js';
import type { CommandRecord, ImportResult, PhaseDraft, StepDraft } from './model.js';
import { reportJson, reportText, summarize } from './report.js';

const CORPUS = resolve(import.meta.dirname, 'corpus');

/** What a phase must be: its name, its hosts in order, and whether (and why) a TODO sits above `hosts:`. */
interface PhaseExpectation {
  name: RegExp;
  hosts: string[] | 'all';
  /** A TODO above hosts matching this; `false`: no TODO there. */
  hostsTodo: RegExp | false;
}

/**
 * What one command became: `[text, kind, todo]`. `text` is a unique part of the command as the
 * document writes it; `kind` the step kind it became (a list for a `&&` chain; `null`: no step, a TODO comment says
 * why); `todo` a regex its TODO must match, or `false` for a step that is exactly the command;
 * `nth` (1-based) picks one of several commands holding `text`, which must otherwise be unique.
 */
type CommandExpectation = [text: string, kind: string | string[] | null, todo: RegExp | false, nth?: number];

interface DocumentExpectation {
  phases: PhaseExpectation[];
  commands: CommandExpectation[];
  /** Params the draft declares (a placeholder only in a rollback or another environment is none). */
  params: string[];
}

function importCorpus(file: string): ImportResult {
  return importMarkdown(readFileSync(join(CORPUS, file), 'utf8'), file);
}

function stepsOf(result: ImportResult): { phase: PhaseDraft; step: StepDraft }[] {
  return result.phases.flatMap((phase) =>
    phase.entries.flatMap((e) => ('step' in e ? [{ phase, step: e.step }] : [])),
  );
}

function recordOf(result: ImportResult, text: string, nth?: number): CommandRecord {
  const found = result.commands.filter((c) => c.text.includes(text));
  if (nth === undefined)
    expect(
      found.map((c) => c.text),
      `exactly one command holds "${text}"`,
    ).toHaveLength(1);
  const record = found[(nth ?? 1) - 1];
  expect(record, `command ${nth ?? 1} holding "${text}"`).toBeDefined();
  return record as CommandRecord;
}

/** The steps a command became, first made (copies made by a repeat are checked apart). */
function stepsFrom(result: ImportResult, record: CommandRecord): StepDraft[] {
  return stepsOf(result)
    .filter(({ phase, step }) => record.steps.includes(`${phase.id}/${step.id}`))
    .map(({ step }) => step);
}

async function loads(result: ImportResult): Promise<string[]> {
  const out = join(mkdtempSync(join(tmpdir(), 'cutover-corpus-')), 'runbook.yml');
  writeFileSync(out, result.yaml);
  const { warnings } = await loadRunbook(out);
  return warnings.map((w) => w.message);
}

async function expectDocument(file: string, expected: DocumentExpectation): Promise<ImportResult> {
  const result = importCorpus(file);
  await loads(result);
  expect(
    result.phases.map((p) => ({ name: p.name, hosts: p.hosts, hostsTodo: p.hostsTodo ?? false })),
  ).toMatchObject(
    expected.phases.map((p) => ({
      name: expect.stringMatching(p.name),
      hosts: p.hosts,
      hostsTodo: p.hostsTodo === false ? false : expect.stringMatching(p.hostsTodo),
    })),
  );
  for (const [text, kind, todo, nth] of expected.commands) {
    const record = recordOf(result, text, nth);
    if (kind === null) {
      expect(record.outcome, `"${text}" makes no step`).not.toBe('step');
      expect(record.steps, `"${text}" makes no step`).toEqual([]);
      if (todo) expect(record.todo.join('; '), `TODO of "${text}"`).toMatch(todo);
      continue;
    }
    const steps = stepsFrom(result, record);
    expect(
      steps.map((s) => s.kind),
      `"${text}" became ${kind}`,
    ).toEqual(Array.isArray(kind) ? kind : [kind]);
    const step = steps[0] as StepDraft;
    if (todo === false) expect(step.todo, `"${text}" needs no TODO`).toEqual([]);
    else expect(step.todo.join('; '), `TODO of "${text}"`).toMatch(todo);
  }
  expect(result.params.map((p) => p.name).sort()).toEqual([...expected.params].sort());
  // Every command is in the expectations: a new mapping is reviewed before it is accepted.
  expect(result.commands.length).toBe(expected.commands.length);
  return result;
}

/** The invariant the issue asks for, checked on every document: nothing made from a command is untyped or dropped without a TODO. */
function expectNoSilentFallback(result: ImportResult): void {
  for (const record of result.commands) {
    if (record.outcome === 'covered') expect(record.todo.length, `line ${record.line}`).toBeGreaterThan(0);
  }
  for (const { phase, step } of stepsOf(result)) {
    if (step.kind === 'shell.run') expect(step.todo.length, `${phase.id}/${step.id}`).toBeGreaterThan(0);
  }
}

/** A step read loosely (its params as a record) for checks on one param. */
interface LooseStep {
  kind: string;
  params: Record<string, unknown>;
  todo: string[];
  extra?: StepDraft['extra'];
}

/** The first step made from the one command holding `text`. */
const stepOn = (result: ImportResult, text: string): LooseStep =>
  stepsFrom(result, recordOf(result, text))[0] as unknown as LooseStep;

describe('import corpus: Kafka broker upgrade (headings, numbered steps inside one, table of hosts)', () => {
  it('keeps one per-broker phase in the stated order, waits for the log and polls, and drops the conditional kill with a TODO', async () => {
    const result = await expectDocument('kafka-broker.md', {
      phases: [
        { name: /^Before you start$/, hosts: ['kafka-1', 'kafka-3', 'kafka-2'], hostsTodo: /line 11/ },
        { name: /^Upgrade a broker$/, hosts: ['kafka-1', 'kafka-3', 'kafka-2'], hostsTodo: /line 11/ },
      ],
      commands: [
        ['kafka-1:9092', 'shell.run', /kafka-1/],
        ['sudo systemctl stop kafka', 'service.stop', false, 1],
        ['kill -9 $(pgrep -f kafka.Kafka)', null, /only if.*still running after 60 s/],
        ['cp -a /opt/kafka/config', 'backup.copy', false],
        ['tar -xzf', 'archive.extract', false],
        ['ln -sfn /opt/kafka_2.13-3.7.0', 'shell.run', /not recognised/],
        ['sudo systemctl start kafka', 'service.start', false, 1],
        ['tail -f /var/log/kafka/server.log', 'wait.log', false],
        ['localhost:9092', 'wait.command', /every 30 s until it prints nothing/],
        ['systemctl stop kafka', null, /rollback/, 2],
        ['<old_version>', null, /reverses step upgrade-a-broker\/ln-sfn/],
        ['systemctl start kafka', null, /rollback/, 2],
      ],
      // The rollback's link back is the undo of the forward link: its version is a param now.
      params: ['old_version'],
    });
    expectNoSilentFallback(result);
    const wait = stepOn(result, 'tail -f /var/log/kafka/server.log');
    const pattern = new RegExp(String(wait.params.pattern as string));
    expect(
      pattern.test('[2024-05-02 10:11:12,345] INFO [KafkaServer id=1] started (kafka.server.KafkaServer)'),
    ).toBe(true);
    expect(pattern.test('started kafka.server.KafkaServer')).toBe(false);
    expect(wait.params.path).toBe('/var/log/kafka/server.log');
    expect(stepOn(result, 'ln -sfn /opt/kafka_2.13-3.7.0').params.undo).toBe(
      'ln -sfn /opt/kafka_2.13-{{ params.old_version }} /opt/kafka',
    );
    // "the output must be empty": a check that fails otherwise.
    expect(stepOn(result, 'kafka-1:9092').params.command).toMatch(/^test -z "\$\(.*kafka-1:9092/);
    const poll = stepOn(result, 'localhost:9092');
    expect(poll.params).toEqual({
      command:
        '/opt/kafka/bin/kafka-topics.sh --bootstrap-server localhost:9092 --describe --under-replicated-partitions',
      output: '^$',
      interval: '30s',
    });
  });
});

describe('import corpus: Patroni minor upgrade (replicas first, switchover, old leader)', () => {
  it('orders the replicas as written, never splits an until loop, and flags commands naming one member', async () => {
    const result = await expectDocument('patroni-minor.md', {
      phases: [
        { name: /^1 Check the cluster$/, hosts: 'all', hostsTodo: /which hosts/ },
        { name: /^2 Upgrade the replicas$/, hosts: ['pg-03', 'pg-02'], hostsTodo: false },
        { name: /^3 Switchover$/, hosts: 'all', hostsTodo: /which hosts/ },
        { name: /^4 Upgrade the old leader$/, hosts: ['pg-01'], hostsTodo: false },
      ],
      commands: [
        ['patroni.yml list', 'shell.run', /not recognised/],
        ['apt-get update', 'shell.run', /not recognised/],
        ['postgresql-15=15.7', 'shell.run', /not recognised/],
        ['restart pg-cluster pg-03', 'shell.run', /names pg-03.*runs on pg-03, pg-02/],
        ['until sudo -u postgres psql', 'wait.command', /until it succeeds, with no limit/],
        ['switchover pg-cluster', 'shell.run', /names pg-01, pg-02/],
        ['<previous_version>', null, /rollback/],
        ['systemctl restart patroni', null, /rollback/],
      ],
      params: [],
    });
    expectNoSilentFallback(result);
    const poll = stepOn(result, 'until sudo -u postgres psql');
    expect(poll.params).toEqual({
      command: "sudo -u postgres psql -tAc 'select pg_is_in_recovery()' | grep -q t",
      interval: '5s',
    });
    // The old leader's phase repeats section 2: its copy of the restart still names pg-03.
    const leader = result.phases.find((p) => p.name.startsWith('4 ')) as PhaseDraft;
    const copied = leader.entries.flatMap((e) => ('step' in e ? [e.step as unknown as LooseStep] : []));
    expect(copied.map((s) => s.kind)).toEqual(['shell.run', 'shell.run', 'shell.run', 'wait.command']);
    expect(copied[2]?.todo.join('; ')).toMatch(/names pg-03.*runs on pg-01/);
    // "All members must be running and the lag must be 0" after the command: a person checks it.
    const check = result.phases[0]?.entries.flatMap((e) => ('step' in e ? [e.step.kind] : []));
    expect(check).toEqual(['shell.run', 'gate.confirm']);
    // "Wait until patronictl list shows pg-02 as the Leader": a person checks, never dropped.
    const switchover = result.phases.find((p) => p.name === '3 Switchover') as PhaseDraft;
    const gates = switchover.entries.flatMap((e) =>
      'step' in e && e.step.kind === 'gate.confirm' ? [e.step as unknown as LooseStep] : [],
    );
    expect(gates.map((g) => g.params.message)).toEqual([expect.stringMatching(/pg-02 as the Leader/)]);
  });
});

describe('import corpus: RabbitMQ rolling upgrade (numbered items, then a ## Rollback heading)', () => {
  it('keeps the items as phases despite the heading, and "repeat steps 2–6" runs items 2–6 node by node', async () => {
    const result = await expectDocument('rabbitmq-rolling.md', {
      phases: [
        { name: /^1\. Check that the cluster is healthy/, hosts: 'all', hostsTodo: /which hosts/ },
        {
          name: /^2–6\. Put the node into maintenance/,
          hosts: ['mq-01', 'mq-02', 'mq-03'],
          hostsTodo: /mq-01/,
        },
      ],
      commands: [
        ['check_running', 'shell.run', /not recognised/],
        ['check_local_alarms', 'shell.run', /not recognised/],
        ['rabbitmq-upgrade drain', 'shell.run', /not recognised/],
        ['systemctl stop rabbitmq-server', 'service.stop', false],
        ['apt-get install -y rabbitmq-server', 'shell.run', /not recognised/],
        ['systemctl start rabbitmq-server', 'service.start', false],
        ['rabbit@mq-01.log', 'wait.log', /names mq-01/],
        ['rabbitmq-upgrade revive', 'shell.run', /not recognised/],
        ['cluster_status', 'shell.run', /not recognised/],
        ['list_queues', 'wait.command', /every 30 s until it prints 0/],
        ['import_definitions', null, /rollback/],
      ],
      params: [],
    });
    expectNoSilentFallback(result);
    expect(stepOn(result, 'rabbit@mq-01.log').params.pattern).toBe('Server startup complete');
    const poll = stepOn(result, 'list_queues');
    expect(poll.params).toMatchObject({
      command: expect.stringMatching(/^sudo rabbitmqctl .*wc -l$/),
      output: '^0$',
    });
  });
});

describe('import corpus: Tomcat WAR behind HAProxy (items, table of hosts, "repeat steps 1–7 for app02")', () => {
  it('runs items 1–7 per app server, flags the load-balancer commands and the one-address health check', async () => {
    const result = await expectDocument('tomcat-haproxy.md', {
      phases: [{ name: /^1–7\. On lb-01, take app01 out/, hosts: ['app01', 'app02'], hostsTodo: /app01/ }],
      commands: [
        ['disable server be_shop/app01', 'shell.run', /lb-01/],
        ['systemctl stop tomcat9', 'service.stop', false],
        ['/var/backups/shop.war.$(date', 'backup.copy', false],
        ['sed -i', 'text.edit', /folder is taken from the text at line 21/],
        ['/tmp/shop-2.4.1.war', 'shell.run', /not recognised/],
        ['systemctl start tomcat9', 'service.start', false],
        ['until curl', 'wait.http', /10\.0\.1\.21/],
        ['enable server be_shop/app01', 'shell.run', /lb-01/],
        ['/var/backups/shop.war.<date>', null, /rollback|backup/],
        ['systemctl restart tomcat9', null, /rollback/],
      ],
      params: [],
    });
    expectNoSilentFallback(result);
    // Prose naming a file is never the folder of the commands after it, and the sed that edits it needs no gate too.
    expect(stepOn(result, 'sed -i').params).toEqual({
      file: '/etc/shop/application.properties',
      replace: [{ pattern: '^checkout.v2.enabled=.*', with: 'checkout.v2.enabled=true' }],
    });
    expect(stepsOf(result).map(({ step }) => step.kind)).not.toContain('gate.confirm');
    expect(stepOn(result, 'until curl').params).toMatchObject({ url: 'http://10.0.1.21:8080/shop/health' });
    expect(stepOn(result, 'disable server').todo.join('; ')).toMatch(/names app01/);
  });
});

describe('import corpus: ZooKeeper rolling restart (followers, then the leader; a staging section)', () => {
  it('keeps the follower order, waits for imok, and never runs the Kubernetes section forward', async () => {
    const result = await expectDocument('zookeeper-rolling.md', {
      phases: [
        { name: /^ZooKeeper rolling restart/, hosts: ['zk-1', 'zk-2', 'zk-3'], hostsTodo: /text at line 3/ },
        { name: /^Change the configuration$/, hosts: 'all', hostsTodo: false },
        { name: /^Restart a follower$/, hosts: ['zk-2', 'zk-3'], hostsTodo: false },
        { name: /^Restart the leader$/, hosts: ['zk-1'], hostsTodo: false },
      ],
      commands: [
        ['echo srvr | nc localhost', 'shell.run', /no recogniser for `nc`/],
        ['maxSessionTimeout', 'text.edit', false],
        ['echo ruok', 'wait.command', /imok/],
        ['systemctl restart zookeeper', 'service.restart', false, 1],
        ['systemctl restart zookeeper', 'service.restart', false, 2],
        ['echo srvr | nc zk-2', 'shell.run', /no recogniser for `nc`/],
        ['rollout restart', null, /staging/i],
        ['rollout status', null, /staging/i],
      ],
      params: [],
    });
    expectNoSilentFallback(result);
    expect(stepOn(result, 'maxSessionTimeout').params).toEqual({
      file: '/opt/zookeeper/conf/zoo.cfg',
      replace: [{ pattern: '^maxSessionTimeout=.*', with: 'maxSessionTimeout=60000' }],
    });
    expect(stepOn(result, 'echo ruok').params).toEqual({
      command: 'echo ruok | nc localhost 2181',
      output: 'imok',
      interval: '5s',
    });
    expect(stepsOf(result).some(({ step }) => JSON.stringify(step.params).includes('kubectl'))).toBe(false);
  });
});

describe('import corpus: nginx blue/green switch (docker compose, a conditional switch back)', () => {
  it('follows the compose log until the line, gates the dashboard, and never switches back unconditionally', async () => {
    const result = await expectDocument('nginx-blue-green.md', {
      phases: [
        { name: /^Deploy green$/, hosts: ['web-1'], hostsTodo: false },
        { name: /^Switch traffic$/, hosts: 'all', hostsTodo: /which hosts/ },
        { name: /^Stop blue$/, hosts: 'all', hostsTodo: /which hosts/ },
      ],
      commands: [
        ['cd /srv/shop', null, false],
        ['green.yml pull', 'shell.run', /not recognised/],
        ['green.yml up -d', 'shell.run', /not recognised/],
        ['logs -f api', 'shell.run', /Started ShopApplication/],
        ['actuator/health', 'http.request', false],
        ['8080;/server 127.0.0.1:8081;', 'text.edit', false],
        ['nginx -t', ['shell.run', 'shell.run'], /not recognised/],
        ['8081;/server 127.0.0.1:8080;', null, /only if.*5xx rate goes up/],
        ['sudo systemctl reload nginx', null, /only if/, 2],
        ['blue.yml stop', 'shell.run', /not recognised/],
      ],
      params: [],
    });
    const full = result;
    expectNoSilentFallback(full);
    const logs = stepOn(full, 'logs -f api');
    expect(logs.params.command).toMatch(/grep -m1 "Started ShopApplication"/);
    const switchPhase = full.phases.find((p) => p.name === 'Switch traffic') as PhaseDraft;
    const gate = switchPhase.entries.flatMap((e) =>
      'step' in e && e.step.kind === 'gate.confirm' ? [e.step as unknown as LooseStep] : [],
    );
    expect(gate.map((g) => g.params.message)).toEqual([expect.stringMatching(/dashboard/)]);
  });
});

describe('import corpus: Russian billing service (numbered items, order in prose, ## Откат)', () => {
  it('keeps seven item phases in the stated host order, takes the wait message from the line before tail -f, and drops the conditional kill with a TODO', async () => {
    const perNode = /по одному/;
    const result = await expectDocument('ru-billing-app.md', {
      phases: [1, 2, 3, 4, 5, 6, 7].map((n) => ({
        name: new RegExp(`^${n}\\. `),
        hosts: ['app02', 'app01'],
        hostsTodo: perNode,
      })),
      commands: [
        ['systemctl stop billing', 'service.stop', false],
        ['pkill -9 -f billing.jar', null, /only if.*60 секунд/],
        ['cp -a /opt/billing/conf', 'backup.copy', false],
        ['releases/billing-3.2.0.jar', 'shell.run', /not recognised/],
        ['systemctl start billing', 'service.start', false],
        ['tail -f /var/log/billing/billing.log', 'wait.log', false],
        ['queue/size', 'wait.command', /30 s until it prints 0/],
        ['<предыдущая_версия>', null, /reverses step/],
        ['systemctl restart billing', null, /rollback/],
      ],
      params: ['value'],
    });
    expectNoSilentFallback(result);
    expect(stepOn(result, 'tail -f /var/log/billing/billing.log').params.pattern).toBe(
      'Started BillingApplication',
    );
    expect(stepOn(result, 'queue/size').params).toEqual({
      command: 'curl -s http://localhost:8080/internal/queue/size',
      output: '^0$',
      interval: '30s',
    });
    const kinds = stepsOf(result).map(({ step }) => step.kind);
    expect(kinds[0]).toBe('file.upload');
    expect(kinds[kinds.length - 1]).toBe('gate.confirm');
    const gate = stepsOf(result)[kinds.length - 1]?.step as unknown as LooseStep;
    expect(gate.params.message).toBe('Проверить дашборд в Grafana: ошибки 5xx не растут.');
  });
});

describe('import corpus: Chinese Nacos cluster (table of hosts, order in prose, 回滚)', () => {
  it('runs the upgrade in the stated order, waits for the message before tail -f, flags the one-address check', async () => {
    const result = await expectDocument('zh-nacos-cluster.md', {
      phases: [{ name: /^升级步骤$/, hosts: ['nacos-3', 'nacos-2', 'nacos-1'], hostsTodo: /line 9/ }],
      commands: [
        ['shutdown.sh', 'shell.run', /not recognised/, 1],
        ['kill -9', null, /only if.*30 秒后进程仍在/],
        ['cp -r /opt/nacos', 'backup.copy', false],
        ['tar -zxvf', 'archive.extract', false],
        ['startup.sh -p embedded', 'process.start', false, 1],
        ['tail -f /opt/nacos/logs/start.out', 'wait.log', false],
        ['10.1.0.13:8848', 'http.request', /10\.1\.0\.13.*nacos-3/],
        ['shutdown.sh', null, /rollback/, 2],
        ['rm -rf /opt/nacos', null, /rollback/],
        ['mv /opt/nacos_bak', null, /rollback/],
        ['startup.sh -p embedded', null, /rollback/, 2],
      ],
      params: [],
    });
    const full = result;
    expectNoSilentFallback(full);
    expect(stepOn(full, 'tail -f /opt/nacos/logs/start.out').params.pattern).toBe(
      'Nacos started successfully',
    );
    // The report counts per document, and lists the hosts of the table for the inventory.
    expect(summarize(full)).toMatchObject({ commands: 11, typed: 5, shell: 1, waits: 1, noStep: 5 });
    expect(reportText(full)).toContain('  nacos-3 10.1.0.13\n');
    expect(reportJson(full).hosts).toMatchObject({
      order: { hosts: ['nacos-3', 'nacos-2', 'nacos-1'], line: 9 },
    });
    const kinds = stepsOf(full).map(({ step }) => step.kind);
    expect(kinds).toEqual([
      'file.upload',
      'shell.run',
      'backup.copy',
      'archive.extract',
      'gate.confirm',
      'process.start',
      'wait.log',
      'http.request',
    ]);
  });
});

describe('import corpus: Redis with Sentinel (replicas first, fail over, the old master)', () => {
  it('keeps the replica order, polls the until loop, makes "must say" a check and the wait for the new master a gate', async () => {
    const result = await expectDocument('redis-sentinel.md', {
      phases: [
        // "redis-2, then redis-3" orders the replicas only: no order for the other phases.
        { name: /^1 Check who is master$/, hosts: 'all', hostsTodo: /which hosts/ },
        { name: /^2 Upgrade a replica$/, hosts: ['redis-2', 'redis-3'], hostsTodo: false },
        { name: /^3 Fail over$/, hosts: 'all', hostsTodo: /which hosts/ },
        { name: /^4 Upgrade the old master$/, hosts: ['redis-1'], hostsTodo: false },
      ],
      commands: [
        ['-h redis-1', 'shell.run', /names redis-1/],
        ['systemctl stop redis-server', 'service.stop', false],
        ['dpkg -i', 'shell.run', /not recognised/],
        ['systemctl start redis-server', 'service.start', false],
        ['until redis-cli ping', 'wait.command', /until it succeeds, with no limit/],
        ['info replication', 'shell.run', /master_link_status:up/],
        ['sentinel failover', 'shell.run', /not recognised/],
      ],
      params: [],
    });
    expectNoSilentFallback(result);
    expect(stepOn(result, 'until redis-cli ping').params).toEqual({
      command: 'redis-cli ping | grep -q PONG',
      interval: '2s',
    });
    expect(stepOn(result, 'info replication').params.command).toBe(
      "redis-cli info replication | grep master_link_status | grep -qF 'master_link_status:up'",
    );
    const kinds = result.phases.map((p) => p.entries.flatMap((e) => ('step' in e ? [e.step.kind] : [])));
    expect(kinds[2]).toEqual(['shell.run', 'gate.confirm']);
    expect(kinds[3]).toEqual(kinds[1]);
  });
});

describe('import corpus: Russian PostgreSQL restart (order in prose, a condition, a Docker variant, Откат)', () => {
  it('keeps the order, reads sudo -u, drops the conditional restart and the Docker variant with TODOs', async () => {
    const ordered = /line 3 \("Порядок: сначала db-02, потом db-01\."\)/;
    const result = await expectDocument('ru-postgres-pgbouncer.md', {
      phases: [
        { name: /^Подготовка$/, hosts: ['db-02', 'db-01'], hostsTodo: ordered },
        { name: /^Перезапуск$/, hosts: ['db-02', 'db-01'], hostsTodo: ordered },
      ],
      commands: [
        ['CHECKPOINT', 'shell.run', /no recogniser for `psql`/],
        ['reload pgbouncer', 'shell.run', /not recognised/],
        ['pg_ctlcluster 14 main restart', 'shell.run', /not recognised/, 1],
        ['tail -f /var/log/postgresql', 'wait.log', false],
        ['restart pgbouncer', null, /only if "Если pgbouncer не видит базу/],
        ['replay_lag', 'shell.run', /not recognised/],
        ['docker restart postgres', null, /another environment/],
        ['<старая_версия>', null, /rollback/],
        ['pg_ctlcluster 14 main restart', null, /rollback/, 2],
      ],
      params: [],
    });
    expectNoSilentFallback(result);
    expect(stepOn(result, 'tail -f /var/log/postgresql').params.pattern).toBe(
      'database system is ready to accept connections',
    );
  });
});

describe('import corpus: Chinese Elasticsearch rolling upgrade (### sections, one node at a time)', () => {
  it('runs the cluster setting on the node it names, flags the same address elsewhere, and polls until green', async () => {
    const result = await expectDocument('zh-elasticsearch-rolling.md', {
      phases: [
        { name: /^1 禁用分片分配$/, hosts: ['es-node-1'], hostsTodo: false },
        { name: /^2 升级节点$/, hosts: 'all', hostsTodo: /line 9 says "逐台执行以下步骤/ },
        { name: /^3 恢复分片分配$/, hosts: 'all', hostsTodo: /line 9 says/ },
      ],
      commands: [
        ['"primaries"', 'http.request', false],
        ['systemctl stop elasticsearch', 'service.stop', false],
        ['yum install', 'shell.run', /not recognised/],
        ['systemctl start elasticsearch', 'service.start', false],
        ['tail -f /var/log/elasticsearch', 'wait.log', false],
        ['enable":null', 'http.request', /names 10\.3\.0\.21 \(es-node-1\)/],
        ['_cat/health', 'wait.command', /每隔 10 秒.*10\.3\.0\.21/],
      ],
      params: [],
    });
    expectNoSilentFallback(result);
    expect(stepOn(result, '_cat/health').params).toEqual({
      command: 'curl -s "http://10.3.0.21:9200/_cat/health?h=status"',
      output: 'green',
      interval: '10s',
    });
  });
});

describe('import corpus: HAProxy on a keepalived pair (backup first, move the VIP, then the master)', () => {
  it('puts the repeated section before the step the text names after it, and flags the copied address', async () => {
    const result = await expectDocument('keepalived-haproxy.md', {
      phases: [
        { name: /^1 Upgrade the backup$/, hosts: ['lb-02'], hostsTodo: false },
        { name: /^2 Move the VIP to lb-02$/, hosts: ['lb-01'], hostsTodo: false },
        { name: /^3 Upgrade the master$/, hosts: ['lb-01'], hostsTodo: false },
      ],
      commands: [
        ['haproxy=2.8.5', 'shell.run', /not recognised/],
        ['haproxy -c', 'shell.run', /not recognised/],
        ['systemctl restart haproxy', 'service.restart', false, 1],
        ['8404/stats', 'http.request', false],
        ['systemctl stop keepalived', 'service.stop', false],
        ['ssh lb-02', 'shell.run', /not recognised/],
        ['systemctl start keepalived', 'service.start', false],
        ['<old_version>', null, /rollback/],
        ['systemctl restart haproxy', null, /rollback/, 2],
      ],
      params: [],
    });
    expectNoSilentFallback(result);
    const master = result.phases[2] as PhaseDraft;
    const steps = master.entries.flatMap((e) => ('step' in e ? [e.step] : []));
    // "Repeat section 1 on lb-01, then start keepalived there again": the copies first.
    expect(steps.map((s) => s.kind)).toEqual([
      'shell.run',
      'shell.run',
      'service.restart',
      'http.request',
      'service.start',
    ]);
    expect(steps[3]?.todo.join()).toMatch(
      /names 10\.0\.5\.12 but this phase runs on lb-01 \(the step is copied/,
    );
  });
});

/** The step made from the text at `line` (an edit the prose names), with its kind, params and TODO. */
const stepAtLine = (result: ImportResult, line: number): LooseStep => {
  const found = stepsOf(result).filter(({ step }) => step.line === line);
  expect(found, `one step from line ${line}`).toHaveLength(1);
  return found[0]?.step as unknown as LooseStep;
};

/** No command of the document is a line of a file sample: those make one edit step at their lead. */
function expectNoSampleRun(result: ImportResult, lines: readonly string[]): void {
  for (const text of lines)
    expect(
      result.commands.filter((c) => c.text.includes(text)),
      text,
    ).toEqual([]);
}

describe('import corpus: config edits as operators write them (samples after "Edit FILE:", sed forms)', () => {
  it('English: every sample becomes one exact edit, or one with a TODO naming what is guessed or unread; sed is typed only when exact', async () => {
    const result = await expectDocument('shop-config-edits.md', {
      phases: [
        { name: /^1 Stop the shop$/, hosts: 'all', hostsTodo: /shop-01 and shop-02/ },
        { name: /^2 Application settings$/, hosts: 'all', hostsTodo: /shop-01 and shop-02/ },
        { name: /^3 Clean up old settings$/, hosts: 'all', hostsTodo: /shop-01 and shop-02/ },
        { name: /^4 Start$/, hosts: 'all', hostsTodo: /shop-01 and shop-02/ },
      ],
      commands: [
        ['systemctl stop shop', 'service.stop', false],
        ['gc.threads=4', 'shell.run', /is no command: it reads as a line of a config file/],
        ["'/^debug\\./d'", 'text.edit', false],
        ["sed -i.bak '/^#/d'", 'text.edit', /leaves a copy at \/etc\/shop\/shop\.env\.bak/],
        [
          "sed -i '3d'",
          'shell.run',
          /`3d` picks lines by their number.*backup\.copy of \/etc\/shop\/banner\.txt/,
        ],
        ['/^\\[cache\\]/,/^\\[/', 'shell.run', /only between the lines \/\^\\\[cache\\\]\/ and/],
        ["'/^port/s/8080/8081/'", 'shell.run', /replaces only on the lines matching its address/],
        ['systemctl start shop', 'service.start', false],
      ],
      params: [],
    });
    expectNoSilentFallback(result);
    expectNoSampleRun(result, ['server.port=8081', 'DB_HOST', 'root: WARN', 'tickTime', 'gc.log', 'UseG1GC']);
    expect(stepAtLine(result, 13)).toMatchObject({
      kind: 'text.edit',
      params: {
        file: '/etc/shop/application.properties',
        set: { 'server.port': '8081', 'checkout.v2.enabled': 'true', 'cache.ttl.seconds': '600' },
      },
      todo: [],
    });
    const env = stepAtLine(result, 22);
    expect(env.params).toEqual({
      file: '/etc/shop/shop.env',
      set: { DB_HOST: 'db-02.internal', DB_POOL: '20' },
    });
    expect(env.todo.join()).toMatch(
      /line 27 \(`DB_PASSWORD_FILE="\/run\/secrets\/db"`\).*an env file: add it/,
    );
    expect(stepAtLine(result, 30)).toMatchObject({
      kind: 'yaml.edit',
      params: { file: '/etc/shop/logging.yml', set: { 'logging/level/root': 'WARN' } },
      todo: [],
    });
    const zoo = stepAtLine(result, 38);
    expect(zoo.params).toEqual({
      file: '/opt/zookeeper/conf/zoo.cfg',
      format: 'properties',
      set: { tickTime: '3000', maxSessionTimeout: '60000' },
    });
    expect(zoo.todo.join()).toMatch(/neither the file name nor the block says the key=value dialect/);
    const jvm = stepAtLine(result, 45);
    expect(jvm.params.set).toEqual({
      'gc.log': 'true',
      'server.port': '8081',
      'jvm.opts': '"-Xmx2g -Xms2g"',
    });
    expect(jvm.todo.join()).toMatch(/line 51 \(`-XX:\+UseG1GC`\).*add it to this step by hand/);
    expect(jvm.todo.join()).toMatch(
      /says to add these lines: a key already in the file is changed where it is/,
    );
    expect(stepOn(result, "'/^debug\\./d'").params).toEqual({
      file: '/etc/shop/application.properties',
      replace: [{ pattern: '^legacy\\.mode=.*', with: 'legacy.mode=false' }],
      delete: [{ pattern: '^debug\\.' }],
    });
  });

  it('Russian: an ini sample keeps its section, a deletion before a replacement and a range stay shell', async () => {
    const ordered = /line 3 \("Порядок: сначала db-02, потом db-01\."\)/;
    const result = await expectDocument('ru-mysql-config.md', {
      phases: [
        { name: /Остановить сервис/, hosts: ['db-02', 'db-01'], hostsTodo: ordered },
        { name: /Отредактируйте/, hosts: ['db-02', 'db-01'], hostsTodo: ordered },
        { name: /Удалить устаревшие/, hosts: ['db-02', 'db-01'], hostsTodo: ordered },
        { name: /Добавьте/, hosts: ['db-02', 'db-01'], hostsTodo: ordered },
        { name: /Запустить сервис/, hosts: ['db-02', 'db-01'], hostsTodo: ordered },
      ],
      commands: [
        ['systemctl stop mysql', 'service.stop', false],
        ["'/^query_cache/d'", 'text.edit', false],
        ['s/^bind-address', 'text.edit', false],
        ['/^\\[client\\]/,/^\\[/', 'shell.run', /a range, such as one section.*section\/key/],
        ["'/^#/d; s/^user", 'shell.run', /deletes lines before it replaces/],
        ['systemctl start mysql', 'service.start', false],
      ],
      params: [],
    });
    expectNoSilentFallback(result);
    expectNoSampleRun(result, ['max_connections = 500', 'default-character-set']);
    expect(stepAtLine(result, 11)).toMatchObject({
      kind: 'text.edit',
      params: {
        file: '/etc/mysql/mysql.conf.d/mysqld.cnf',
        set: { 'mysqld/max_connections': '500', 'mysqld/innodb_buffer_pool_size': '4G' },
      },
      todo: [],
    });
    expect(stepOn(result, 's/^bind-address').params).toEqual({
      file: '/etc/mysql/my.cnf',
      replace: [
        { pattern: '^port.*', with: 'port = 3307' },
        { pattern: '^bind-address.*', with: 'bind-address = 0.0.0.0' },
      ],
    });
    const charset = stepAtLine(result, 28);
    expect(charset.params).toEqual({
      file: '/etc/mysql/conf.d/charset.cnf',
      set: { 'client/default-character-set': 'utf8mb4' },
    });
    expect(charset.todo.join()).toMatch(/says to add these lines/);
  });

  it('Chinese: a sample cutover cannot read is a gate naming its lines; sed appends and several files stay shell', async () => {
    const ordered = /line 3 \("按 redis-1、redis-2 的顺序逐台执行。"\)/;
    const result = await expectDocument('zh-redis-config.md', {
      phases: [
        { name: /^1 停止服务$/, hosts: ['redis-1', 'redis-2'], hostsTodo: ordered },
        { name: /^2 修改配置$/, hosts: ['redis-1', 'redis-2'], hostsTodo: ordered },
        { name: /^3 启动服务$/, hosts: ['redis-1', 'redis-2'], hostsTodo: ordered },
      ],
      commands: [
        ['systemctl stop redis', 'service.stop', false],
        ["'s/^bind .*/bind 0.0.0.0/'", 'text.edit', false],
        ["'/^#/d;/^$/d'", 'text.edit', false],
        ["'$a appendonly yes'", 'shell.run', /the sed command `a`/],
        ['sentinel.conf', 'shell.run', /edits 2 files/],
        ['systemctl start redis', 'service.start', false],
      ],
      params: [],
    });
    expectNoSilentFallback(result);
    expectNoSampleRun(result, ['maxmemory', 'spring.redis']);
    const redis = stepAtLine(result, 13);
    expect(redis.kind).toBe('gate.confirm');
    expect(redis.todo.join()).toMatch(/shows this file's lines at line 16, 17, which cutover cannot read/);
    expect(stepAtLine(result, 20)).toMatchObject({
      kind: 'text.edit',
      params: {
        file: '/opt/app/config/application.properties',
        set: { 'spring.redis.host': '10.2.0.31', 'spring.redis.timeout': '5000' },
      },
      todo: [],
    });
    expect(stepOn(result, "'/^#/d;/^$/d'").params.delete).toEqual([{ pattern: '^#' }, { pattern: '^$' }]);
  });
});
