import { describe, expect, it } from 'vitest';
import { Templater } from '../placeholders.js';
import { findSecrets, redactCommand } from '../redact.js';
import { killsAPlaceholder, type Recognition, type RecogniseContext, recognise } from './index.js';
import { recogniseContext } from './test-support.js';
import { parseShellLine, ShellSyntaxError } from '../shell-words.js';
import { basicToJs } from './waits.js';

const context = recogniseContext;

function read(line: string, extra: Partial<RecogniseContext> = {}): Recognition[] {
  const ctx = context(extra);
  return parseShellLine(line).map((cmd) => recognise(cmd, ctx));
}

/** The steps of a one-part line as [kind, params], failing when it is not steps. */
function steps(line: string, extra: Partial<RecogniseContext> = {}) {
  const [result] = read(line, extra);
  if (result?.type !== 'steps') throw new Error(`expected steps for ${line}, got ${JSON.stringify(result)}`);
  return result;
}

const cwd = (path: string) => ({ cwd: { path, line: 3, from: 'cd' as const, sameSection: true } });

describe('shell words', () => {
  it('splits && and ; chains, keeps || and quoted operators whole, and reads placeholders as words', () => {
    expect(
      parseShellLine('systemctl stop a && systemctl stop b; systemctl stop c').map((c) => c.text),
    ).toEqual(['systemctl stop a', 'systemctl stop b', 'systemctl stop c']);
    expect(parseShellLine('systemctl stop a || true')).toHaveLength(1);
    expect(parseShellLine("echo 'a && b'")[0]?.stages[0]?.map((w) => w.value)).toEqual(['echo', 'a && b']);
    const kill = parseShellLine('kill -9 <PID>')[0];
    expect(kill?.stages[0]?.map((w) => w.value)).toEqual(['kill', '-9', '<PID>']);
    expect(kill?.redirects).toEqual([]);
    expect(parseShellLine('sort < /tmp/in')[0]?.redirects[0]?.target?.value).toBe('/tmp/in');
    const nohup = parseShellLine('nohup sh startup.sh > /var/log/a.log 2>&1 &')[0];
    expect(nohup).toMatchObject({ background: true, redirects: [{ op: '>' }, { op: '2>&1' }] });
    expect(() => parseShellLine("echo 'unclosed")).toThrow(ShellSyntaxError);
  });
});

describe('recognisers', () => {
  it('systemctl stop|start|restart: one service step per unit; status: a read-only is-active check', () => {
    expect(
      steps('sudo systemctl stop metricbeat elasticsearch').steps.map((s) => [s.kind, s.params]),
    ).toEqual([
      ['service.stop', { unit: 'metricbeat' }],
      ['service.stop', { unit: 'elasticsearch' }],
    ]);
    expect(steps('service nginx restart').steps[0]).toMatchObject({
      kind: 'service.restart',
      params: { unit: 'nginx' },
    });
    expect(steps('systemctl start app<instanceName>').steps[0]?.params).toEqual({
      unit: 'app{{ params.instanceName }}',
    });
    const status = steps('systemctl status a b');
    expect(status.steps[0]).toMatchObject({
      kind: 'shell.run',
      params: { command: 'systemctl is-active a b' },
      extra: { retries: 5, retry_delay: '2s' },
      todo: [],
    });
    const reload = steps('systemctl daemon-reload');
    expect(reload.recognised).toBe(false);
    expect(reload.steps[0]?.todo[0]).toMatch(/^not recognised: no recogniser for `systemctl`/);
  });

  it('ps | grep + kill -N <PID>: process.stop with that signal and a TODO about the ambiguous grep', () => {
    const [grep] = read('ps -ef | grep java | grep -v grep');
    expect(grep).toMatchObject({ type: 'grep', pattern: 'java' });
    expect(killsAPlaceholder(parseShellLine('kill -9 <PID>')[0]!)).toBe(true);
    const kill = steps('kill -9 <PID>', { grep: { pattern: 'java', line: 6 } });
    expect(kill.steps[0]).toMatchObject({ kind: 'process.stop', params: { match: 'java', signal: 'KILL' } });
    expect(kill.steps[0]?.todo[0]).toMatch(/`grep java` \(line 6\) matches every process/);
    expect(steps('kill -15 <PID>', { grep: { pattern: 'java', line: 6 } }).steps[0]?.params).toEqual({
      match: 'java',
    });
    // Without the grep before it, <PID> means nothing cutover can find.
    expect(steps('kill -9 <PID>').steps[0]?.kind).toBe('shell.run');
  });

  it('kill by pid file or pgrep, and pkill: process.stop', () => {
    expect(steps('kill -TERM $(cat /var/run/app.pid)').steps[0]).toMatchObject({
      kind: 'process.stop',
      params: { pidfile: '/var/run/app.pid' },
      idHint: 'stop app',
    });
    expect(steps("kill -s HUP $(pgrep -f 'nginx: master')").steps[0]?.params).toEqual({
      match: 'nginx: master',
      signal: 'HUP',
    });
    expect(steps("pkill -f 'java -jar /opt/orders.jar'").steps[0]).toMatchObject({
      params: { match: 'java -jar /opt/orders.jar' },
      todo: [],
    });
    expect(steps('pkill -9 java').steps[0]?.todo[0]).toMatch(/pkill without -f matches process names/);
    expect(steps('kill -SIGFOO 123').steps[0]?.kind).toBe('shell.run');
  });

  it('cp -R A A_<date>: backup.copy with a host date; its restore is covered by the rollback', () => {
    const backup = steps('cp -R /home/ecsc /home/ecsc_20170324');
    expect(backup.steps[0]).toMatchObject({
      kind: 'backup.copy',
      params: { src: '/home/ecsc', dest: "/home/ecsc_{{ host.date('%Y%m%d') }}" },
      todo: [],
    });
    expect(steps('cp -a /etc/app /etc/app.$(date +%Y%m%d-%H%M)').steps[0]?.params).toEqual({
      src: '/etc/app',
      dest: "/etc/app.{{ host.date('%Y%m%d-%H%M') }}",
    });
    expect(steps('cp -a conf conf.bak', cwd('/opt/app')).steps[0]?.params).toEqual({
      src: '/opt/app/conf',
      dest: '/opt/app/conf.bak',
    });
    expect(steps('cp /etc/a.conf /etc/b.conf').steps[0]?.kind).toBe('shell.run');
    const backups = [
      { ref: 'p/backup-ecsc', src: '/home/ecsc', dest: "/home/ecsc_{{ host.date('%Y%m%d') }}" },
    ];
    const [restore] = read('cp -R /home/ecsc_20170324 /home/ecsc', { backups });
    expect(restore).toMatchObject({ type: 'covered' });
    expect(restore?.type === 'covered' && restore.why).toMatch(
      /undo of step p\/backup-ecsc|backup of step p\/backup-ecsc/,
    );
    expect(read('cp -R /home/x_20170324 /home/x', { inRollback: true })[0]?.type).toBe('covered');
    // Outside a rollback and without the backup step it is just a copy, left to a person.
    expect(steps('cp -R /home/x_20170324 /home/x').steps[0]?.kind).toBe('shell.run');
  });

  it('tar x: archive.extract into -C or the folder the commands run in; tar c is not recognised', () => {
    expect(steps('tar xvf ecsc.tar', cwd('/home')).steps[0]?.params).toEqual({
      archive: '/home/ecsc.tar',
      dest: '/home',
    });
    expect(steps('tar -xzf /srv/a-<version>.tgz -C /opt --strip-components=1').steps[0]?.params).toEqual({
      archive: '/srv/a-{{ params.version }}.tgz',
      dest: '/opt',
      strip: 1,
    });
    const ctx = context();
    const [unknownFolder] = parseShellLine('tar xf app.tar').map((c) => recognise(c, ctx));
    expect(unknownFolder).toMatchObject({
      type: 'steps',
      steps: [{ params: { archive: '{{ params.workdir }}/app.tar', dest: '{{ params.workdir }}' } }],
    });
    expect(ctx.templater.params.get('workdir')?.description).toMatch(/does not say/);
    expect(steps('tar -czf /tmp/a.tgz /etc').steps[0]?.kind).toBe('shell.run');
  });

  it('wget/curl downloads: file.download, the password a declared secret; other curl calls: http.request', () => {
    const ctx = context(cwd('/srv'));
    const [wget] = parseShellLine(
      'wget --user <ci-user> --ask-password https://repo.example.com/a/app-<version>.tgz',
    ).map((c) => recognise(c, ctx));
    expect(wget).toMatchObject({
      type: 'steps',
      steps: [
        {
          kind: 'file.download',
          params: {
            url: 'https://repo.example.com/a/app-{{ params.version }}.tgz',
            dest: '/srv/app-{{ params.version }}.tgz',
            user: '{{ params.ci_user }}',
            password: '{{ secrets.repo_password }}',
          },
        },
      ],
    });
    expect(ctx.templater.secrets.get('repo_password')).toMatchObject({ env: 'REPO_PASSWORD' });
    expect(steps('curl -fsSL -o /opt/x.tgz https://h.example.com/x.tgz').steps[0]?.params).toEqual({
      url: 'https://h.example.com/x.tgz',
      dest: '/opt/x.tgz',
    });
    expect(steps('curl -s http://localhost:8080/health').steps[0]).toMatchObject({
      kind: 'http.request',
      params: { url: 'http://{{ host.address }}:8080/health' },
    });
    expect(steps('curl -sSL https://get.example.com/install.sh | bash').steps[0]?.kind).toBe('shell.run');
    expect(steps('curl --cacert /a.pem -o /tmp/a https://h/a').steps[0]?.kind).toBe('shell.run');
  });

  it('never copies a password written in a command into the draft', () => {
    const download = steps('curl -u deploy:hunter2 -o /opt/app.tgz https://files.example.com/app.tgz');
    expect(JSON.stringify(download)).not.toContain('hunter2');
    expect(download.steps[0]?.params).toMatchObject({
      user: 'deploy',
      password: '{{ secrets.files_password }}',
    });
    expect(download.steps[0]?.todo.join()).toMatch(/was not copied/);
    const script = steps("mysql -u root --password=hunter2 -e 'select 1'");
    expect(JSON.stringify(script)).not.toContain('hunter2');
    expect(script.steps[0]?.params).toEqual({
      command: `mysql -u root --password="$LINE_7_PASSWORD" -e 'select 1'`,
      env: { LINE_7_PASSWORD: '{{ secrets.line_7_password }}' },
    });
    expect(findSecrets('psql postgres://app:s3cr3t@db/app').map((s) => s.value)).toEqual(['s3cr3t']);
    expect(redactCommand("DB_PASSWORD='x y' ./migrate.sh --token=abc")).toBe(
      "DB_PASSWORD='***' ./migrate.sh --token=***",
    );
    expect(redactCommand("curl -H 'Authorization: Bearer abc.def' https://h")).toBe(
      "curl -H 'Authorization: Bearer ***' https://h",
    );
    expect(findSecrets('wget --password=<password> https://h/x')).toEqual([]);
  });

  it('tail -f LOG: wait.log with the message that follows, or a pattern to write that never matches', () => {
    const message = { pattern: 'Started', line: 9, from: 'the text at line 9', guessed: false };
    expect(
      steps('tail -f -n 50 /var/log/app/<instance>_<today>.log', { message: () => message }).steps[0],
    ).toMatchObject({
      kind: 'wait.log',
      params: {
        path: "/var/log/app/{{ params.instance }}_{{ host.date('%Y-%m-%d') }}.log",
        pattern: 'Started',
      },
      todo: [expect.stringMatching(/<today> became .*check the date format/)],
    });
    const none = steps('tail -F /var/log/app.log');
    expect(none.recognised).toBe(false);
    const [wait] = none.steps;
    if (wait?.kind !== 'wait.log') throw new Error(`expected wait.log, got ${wait?.kind}`);
    const pattern = String(wait.params.pattern);
    expect(new RegExp(pattern).test('2024-05-02 10:11:12 INFO app Started in 3.2s')).toBe(false);
    expect(none.steps[0]?.todo[0]).toMatch(/only watches this log/);
    expect(steps('tail -n 100 /var/log/app.log').steps[0]?.todo[0]).toMatch(/only looks/);
  });

  it('rm: file.remove per path; globs and / are left to a person', () => {
    expect(steps('rm -f /a/hold.lock /b/x.pid').steps.map((s) => s.params)).toEqual([
      { path: '/a/hold.lock' },
      { path: '/b/x.pid' },
    ]);
    expect(steps('rm -rf /tmp/cache/*').steps[0]?.kind).toBe('shell.run');
    expect(steps('rm -rf /').steps[0]?.kind).toBe('shell.run');
  });

  it('editors: a yaml.edit stub from the samples, an nginx.route stub, or a manual gate', () => {
    const yaml = steps('nano /etc/app/app.yml', {
      yamlSamples: () => [{ line: 12, text: 'old.key:\n# why\nnew.key: 5\nnested:\n  a: <instance>\n' }],
    });
    expect(yaml.steps[0]).toMatchObject({
      kind: 'yaml.edit',
      params: {
        file: '/etc/app/app.yml',
        set: { 'new.key': 5, 'nested/a': '{{ params.instance }}' },
        delete: ['old.key'],
        comments: { 'new.key': 'why' },
      },
    });
    expect(yaml.recognised).toBe(false);
    expect(steps('vim /etc/app/app.yaml').steps[0]?.params).toEqual({
      file: '/etc/app/app.yaml',
      set: { TODO: 'the key to set' },
    });
    expect(steps('nano /etc/nginx/conf.d/app.conf', { locations: ['/api'] }).steps[0]?.params).toEqual({
      config: '/etc/nginx/conf.d/app.conf',
      locations: ['/api'],
      upstream: '{{ params.upstream }}',
    });
    expect(steps('vi /opt/kafka/config/server.properties').steps[0]).toMatchObject({
      kind: 'gate.confirm',
      todo: [expect.stringMatching(/an editor cannot run unattended/)],
    });
  });

  it('nohup ... & and start scripts: process.start, detached', () => {
    expect(
      steps('nohup java -jar app.jar > /var/log/app.log 2>&1 &', cwd('/opt/app')).steps[0]?.params,
    ).toEqual({
      command: 'java -jar app.jar',
      cwd: '/opt/app',
      log: '/var/log/app.log',
    });
    expect(steps('/opt/tomcat/bin/startup.sh').steps[0]).toMatchObject({
      kind: 'process.start',
      params: { command: '/opt/tomcat/bin/startup.sh' },
      todo: [],
    });
    expect(steps('nohup sh startup.sh &').steps[0]?.todo[0]).toMatch(/startup\.sh is relative/);
  });

  it('cd: the folder of the commands after it', () => {
    expect(read('cd /<base>/scripts')[0]).toMatchObject({ type: 'cd', path: '/{{ params.base }}/scripts' });
    expect(read('cd bin', cwd('/opt/app'))[0]).toMatchObject({ type: 'cd', path: '/opt/app/bin' });
    expect(read('cd $HOME')[0]).toEqual({ type: 'cd', why: expect.stringMatching(/cannot resolve/) });
  });

  it('inside a rollback section, nothing becomes a step', () => {
    expect(read('systemctl stop app', { inRollback: true })[0]).toMatchObject({
      type: 'covered',
      why: expect.stringMatching(/rollback \(service\.stop\)/),
    });
    expect(read('./restore.sh', { inRollback: true })[0]?.type).toBe('covered');
  });
});

describe('systemctl reload', () => {
  it('stays shell.run and says why (a restart is another action)', () => {
    expect(steps('sudo systemctl reload nginx')).toMatchObject({
      recognised: false,
      steps: [
        { kind: 'shell.run', todo: [expect.stringMatching(/service\.restart would restart, not reload/)] },
      ],
    });
  });
});

describe('waits written as shell', () => {
  it('keeps an until loop whole: wait.http for a curl, else wait.command every N s with a TODO', () => {
    expect(parseShellLine('until curl -fsS http://10.0.1.21:8080/health; do sleep 5; done')).toHaveLength(1);
    expect(parseShellLine('if pgrep java; then pkill java; fi')).toHaveLength(1);
    expect(parseShellLine("echo 'until'; ls")).toHaveLength(2);
    expect(steps('until curl -fsS http://10.0.1.21:8080/health; do sleep 5; done').steps[0]).toMatchObject({
      kind: 'wait.http',
      params: { url: 'http://10.0.1.21:8080/health' },
    });
    const poll = steps("until psql -tAc 'select 1' | grep -q 1; do echo waiting; sleep 10; done");
    expect(poll.steps[0]).toMatchObject({
      kind: 'wait.command',
      params: { command: "psql -tAc 'select 1' | grep -q 1", interval: '10s' },
      todo: [expect.stringMatching(/no limit.*check that the command only looks/)],
    });
    expect(poll.steps[0]?.extra).toBeUndefined();
    // Programs cutover knows only look need no word on it; a cd before gives the folder.
    const known = steps('until test -e /var/run/app.pid; do sleep 1m; done', {
      cwd: { path: '/srv/app', line: 3, from: 'cd', sameSection: true },
    }).steps[0];
    expect(known).toMatchObject({
      kind: 'wait.command',
      params: { command: 'test -e /var/run/app.pid', interval: '60s', cwd: '/srv/app' },
    });
    expect(known?.todo.join('; ')).not.toMatch(/only looks/);
    // `while CMD` loops while it succeeds: not a wait for it; left to a person.
    expect(steps('while pgrep java; do sleep 1; done').steps[0]).toMatchObject({ kind: 'shell.run' });
    expect(steps('while pgrep java; do sleep 1; done').recognised).toBe(false);
  });

  it('tail -f LOG | grep PATTERN: wait.log with the pattern as grep reads it', () => {
    const wait = (line: string) => steps(line).steps[0];
    expect(wait("tail -f /var/log/k.log | grep 'started (kafka.server.KafkaServer)'")).toMatchObject({
      kind: 'wait.log',
      params: { path: '/var/log/k.log', pattern: 'started \\(kafka.server.KafkaServer\\)' },
      todo: [],
    });
    expect(wait("tail -F /var/log/a.log | grep -E 'up (now|again)'")?.params).toMatchObject({
      pattern: 'up (now|again)',
    });
    expect(wait('tail -f /var/log/a.log | grep -F a.b')?.params).toMatchObject({ pattern: 'a\\.b' });
    expect(basicToJs('a\\(b\\|c\\)+[()]')).toBe('a(b|c)\\+[()]');
    // grep -v or -i means something wait.log cannot say, and a pattern JavaScript cannot read is no pattern: shell with a TODO.
    expect(wait('tail -f /var/log/a.log | grep -v debug')?.kind).toBe('shell.run');
    expect(wait('tail -f /var/log/a.log | grep "[unclosed"')?.kind).toBe('shell.run');
  });

  it('a followed output piped to grep ends at the first match, still shell, with a TODO', () => {
    expect(steps('docker compose logs -f api | grep "Started"').steps[0]).toMatchObject({
      kind: 'shell.run',
      params: { command: 'docker compose logs -f api | grep -m1 "Started"' },
      todo: [expect.stringMatching(/lines written before this step match too/)],
    });
    expect(steps('journalctl -fu app | grep -m1 ready').steps[0]?.params).toEqual({
      command: 'journalctl -fu app | grep -m1 ready',
    });
  });
});

describe('placeholders', () => {
  it('become params, host dates, or stay literal', () => {
    const t = new Templater();
    expect(t.template('/x/<path/to/dir>/<version>_<today>_20170324.log', 3)).toBe(
      "/x/{{ params.path_to_dir }}/{{ params.version }}_{{ host.date('%Y-%m-%d') }}_{{ host.date('%Y%m%d') }}.log",
    );
    expect(t.template('app-7.0.67 build 20171399 {{ x', 3)).toBe("app-7.0.67 build 20171399 {{ '{{' }} x");
    expect([...t.params.values()].map((p) => [p.name, p.type])).toEqual([
      ['path_to_dir', 'string'],
      ['version', 'version'],
    ]);
  });
});

describe('sudo in the document', () => {
  it('becomes become: true on the step (typed or not), never a step silently run as the login user', () => {
    expect(steps('sudo systemctl stop app').steps[0]).toMatchObject({
      kind: 'service.stop',
      extra: { become: true },
    });
    expect(steps('sudo -E rm -rf /var/cache/app/tmp').steps[0]?.extra).toMatchObject({ become: true });
    expect(steps('systemctl stop app').steps[0]?.extra?.become).toBeUndefined();
    // `sudo -u postgres …` is not a plain sudo: left as written (with its TODO), not turned into root.
    expect(steps('sudo -u postgres psql -c "select 1"').steps[0]?.extra?.become).toBeUndefined();
  });
});

describe('sed -i', () => {
  it('types s/// on a named file as text.edit, regex dialects mapped to JavaScript', () => {
    expect(
      steps("sudo sed -i 's/^maxSessionTimeout=.*/maxSessionTimeout=60000/' /opt/zk/conf/zoo.cfg").steps,
    ).toMatchObject([
      {
        kind: 'text.edit',
        params: {
          file: '/opt/zk/conf/zoo.cfg',
          replace: [{ pattern: '^maxSessionTimeout=.*', with: 'maxSessionTimeout=60000' }],
        },
        todo: [],
        extra: { become: true },
      },
    ]);
    expect(
      steps("sed -i -e 's|\\(Xmx\\)[[:digit:]]\\+m|\\12g|g' -e 's/a\\.b/&c/' /etc/jvm.cfg").steps[0]?.params,
    ).toEqual({
      file: '/etc/jvm.cfg',
      replace: [
        { pattern: '(Xmx)[0-9]+m', with: '$12g', all: true },
        { pattern: 'a\\.b', with: '$&c' },
      ],
    });
    expect(steps("sed -E -i 's/(port)=([0-9]+) (x)/\\1=8081 $/' /etc/a.ini").steps[0]?.params).toEqual({
      file: '/etc/a.ini',
      replace: [{ pattern: '(port)=([0-9]+) (x)', with: '$1=8081 $$' }],
    });
  });

  it('says what a backup suffix and a relative file become', () => {
    const bak = steps("sed -i.bak 's/a/b/' /etc/x.conf").steps[0];
    expect(bak?.todo.join('; ')).toMatch(/also leaves a copy at \/etc\/x\.conf\.bak/);
    const named = steps("sed -i 's/a/b/' app.properties", {
      namedFiles: [{ path: '/etc/shop/app.properties', line: 3 }],
    }).steps[0];
    expect(named?.params).toMatchObject({ file: '/etc/shop/app.properties' });
    expect(named?.todo.join('; ')).toMatch(/taken from the text at line 3/);
    const unknown = steps("sed -i 's/a/b/' app.properties").steps[0];
    expect(unknown?.params).toMatchObject({ file: '{{ params.workdir }}/app.properties' });
  });

  it('leaves to shell what sed and JavaScript could read differently', () => {
    for (const line of [
      "sed 's/a/b/' /etc/x", // not in place
      "sed -i '/x/s/a/b/' /etc/x", // an address
      "sed -i 's/a/b/2' /etc/x", // the second match
      "sed -i 's/\\d/b/' /etc/x", // \d is no digit in sed
      "sed -i 's/[[:punct:]]/b/' /etc/x",
      "sed -i 's/a/\\n/' /etc/x",
      "sed -i '/^#/d;s/c/d/' /etc/x", // a deletion before a replacement
      "sed -i 's/a/b/' /etc/x /etc/y",
      "sed -i 's/2.4.0/<version>/' /etc/x",
      'sed -i "s/a/$NEW/" /etc/x',
      "sed -i 's/*a/b/' /etc/x",
      "sed -i -n 's/a/b/p' /etc/x",
    ]) {
      expect(
        steps(line).steps.map((s) => s.kind),
        line,
      ).toEqual(['shell.run']);
    }
  });
});
