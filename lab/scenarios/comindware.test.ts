import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { ScenarioContext } from '../scenario.js';
import { fileDate } from '../sim/logformat.mjs';
import {
  cmwHistory,
  CMW_DISTR_USER,
  CMW_VERSIONS,
  cmwArchiveName,
  cmwPasswordFile,
  comindwareScenario,
} from './comindware.js';

const LAB_SOURCE = path.resolve(import.meta.dirname, '..');

function tempLab(): ScenarioContext {
  const labDir = mkdtempSync(path.join(tmpdir(), 'lab-cmw-'));
  return { labDir, sharedDir: path.join(labDir, 'shared'), labSourceDir: LAB_SOURCE };
}

describe('comindware scenario', () => {
  it('has the seed’s three nodes, shared storage, and boots nginx and the three units', () => {
    expect(comindwareScenario.hosts.map((h) => [h.name, h.address, h.roles])).toEqual([
      ['web', '127.0.10.10', ['web']],
      ['integration', '127.0.10.11', ['integration']],
      ['backup', '127.0.10.12', ['backup']],
    ]);
    expect(comindwareScenario.sharedStorage).toBe(true);
    expect(comindwareScenario.boot(comindwareScenario.hosts[0]!)).toEqual([
      'systemctl start nginx',
      'systemctl start apigatewaycmw comindwarecmw adapterhostcmw',
    ]);
  });

  it('populates a node: old-era config, version record, units, nginx site, stale logs', async () => {
    const ctx = tempLab();
    const root = path.join(ctx.labDir, 'hosts/integration/root');
    const host = comindwareScenario.hosts[1]!;
    try {
      await comindwareScenario.populate(root, host, ctx);
      const configText = readFileSync(
        path.join(root, 'usr/share/comindware/configs/instance/cmw.yml'),
        'utf8',
      );
      const config = YAML.parse(configText);
      expect(config).toMatchObject({
        instanceName: 'cmw',
        'db.workDir': '/var/lib/comindware/cmw/Database',
        'http.address': '127.0.10.11',
        'http.port': 8080,
        isContainerEnvironment: false,
        clusterNodes: ['127.0.10.10:47500', '127.0.10.11:47500', '127.0.10.12:47500'],
      });
      expect(configText).toContain('# Рабочая директория базы данных');
      expect(readFileSync(path.join(root, 'var/lib/comindware/cmw/version'), 'utf8')).toBe(
        `${CMW_VERSIONS.installed}\n`,
      );
      expect(
        readFileSync(path.join(root, `var/www/.cmw_version/${CMW_VERSIONS.installed}/VERSION`), 'utf8'),
      ).toBe(`${CMW_VERSIONS.installed}\n`);
      const unit = readFileSync(path.join(root, 'etc/systemd/system/comindwarecmw.service'), 'utf8');
      expect(unit).toContain('ExecStart=/usr/bin/node /opt/lab/sim/comindware.mjs --instance=cmw\n');
      const yamlModule = /^Environment=LAB_YAML_MODULE=(.+)$/m.exec(unit)?.[1];
      expect(statSync(yamlModule!).isFile()).toBe(true);
      for (const unitName of ['apigatewaycmw', 'adapterhostcmw']) {
        expect(readFileSync(path.join(root, `etc/systemd/system/${unitName}.service`), 'utf8')).toMatch(
          /^ExecStart=\/usr\/bin\/node \/opt\/lab\/sim\/cmw-service\.mjs --role=\w+ --instance=cmw$/m,
        );
      }
      const today = readFileSync(
        path.join(root, `var/log/comindware/cmw/heartbeat_${fileDate(new Date())}.log`),
        'utf8',
      );
      expect(today).toContain('waiting for removal of /var/lib/comindware/cmw/Database/hold.lock');
      expect(statSync(path.join(ctx.sharedDir, 'distr')).isDirectory()).toBe(true);

      // Populating again gives the same tree (lab up over an existing folder).
      const listing = () =>
        execFileSync('find', [root, '-printf', '%P %y %m\n'], { encoding: 'utf8' }).split('\n').sort();
      const first = listing();
      await comindwareScenario.populate(root, host, ctx);
      expect(listing()).toEqual(first);
    } finally {
      rmSync(ctx.labDir, { recursive: true, force: true });
    }
  });

  it('dates the stale history before now, and writes none for today in the first minute of a day', () => {
    const now = new Date(2025, 2, 14, 10, 0, 0);
    const files = cmwHistory(now, 'cmw', 'web');
    expect(files.map((f) => f.name)).toEqual([
      'heartbeat_2025-03-13.log',
      'igniteClient_2025-03-13.log',
      'heartbeat_2025-03-14.log',
      'igniteClient_2025-03-14.log',
    ]);
    for (const { text } of files) {
      for (const line of text.trim().split('\n')) {
        expect(new Date(line.slice(0, 23).replace(' ', 'T')).getTime()).toBeLessThan(now.getTime() - 60_000);
      }
    }
    const firstMinute = cmwHistory(new Date(2025, 2, 14, 0, 0, 30), 'cmw', 'web');
    expect(firstMinute.map((f) => f.name)).toEqual([
      'heartbeat_2025-03-13.log',
      'igniteClient_2025-03-13.log',
    ]);
  });

  it('writes an nginx site that nginx accepts, with both seed locations proxying to the node', async () => {
    const ctx = tempLab();
    const root = path.join(ctx.labDir, 'root');
    try {
      await comindwareScenario.populate(root, comindwareScenario.hosts[0]!, ctx);
      const site = readFileSync(path.join(root, 'etc/nginx/sites-enabled/comindwarecmw'), 'utf8');
      expect(site).toMatch(/location \/async \{\n\s+proxy_pass http:\/\/127\.0\.10\.10:8080;/);
      expect(site).toMatch(/location \/ \{\n\s+proxy_pass http:\/\/127\.0\.10\.10:8080;/);
      expect(site).toContain('listen 127.0.10.10:80;');
      // nginx -t opens the log files: point them into the temp folder, keep everything else.
      const siteCopy = path.join(ctx.labDir, 'site.conf');
      writeFileSync(siteCopy, site.replaceAll('/var/log/nginx/', `${ctx.labDir}/`));
      const conf = path.join(ctx.labDir, 'nginx.conf');
      writeFileSync(
        conf,
        `pid ${ctx.labDir}/nginx.pid;\nerror_log ${ctx.labDir}/error.log;\nevents {}\nhttp {\n  include ${siteCopy};\n}\n`,
      );
      // Throws with nginx's message when the site is invalid.
      execFileSync('nginx', ['-t', '-q', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    } finally {
      rmSync(ctx.labDir, { recursive: true, force: true });
    }
  });
});

describe('comindware artifact server', () => {
  const ctx = tempLab();
  let info: Record<string, string> = {};
  let pids: number[] = [];
  let password = '';
  /** HTTP status of a GET; the body goes to `out`. */
  const curl = (args: string[], out = '/dev/null') =>
    execFileSync('curl', ['-s', '-o', out, '-w', '%{http_code}', ...args], { encoding: 'utf8' });

  beforeAll(async () => {
    ({ info, pids } = await comindwareScenario.startController!(ctx));
    password = readFileSync(cmwPasswordFile(ctx), 'utf8').trim();
  });
  afterAll(() => {
    for (const pid of pids) process.kill(pid, 'SIGTERM');
    rmSync(ctx.labDir, { recursive: true, force: true });
  });

  it('keeps a generated password in <labDir>/secrets/distr_password (0600) and out of what it returns', () => {
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(statSync(cmwPasswordFile(ctx)).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(info)).not.toContain(password);
    expect(info.distrUser).toBe(CMW_DISTR_USER);
    const vars = comindwareScenario.inventoryVars!(ctx);
    expect(vars.distr_url).toBe(info.artifactServer);
    expect(vars).toMatchObject({
      instance: 'cmw',
      distr_user: 'cmw-devops',
      distr_folder: '/mnt/shared/distr',
    });
    expect(JSON.stringify(vars)).not.toContain(password);
  });

  it('serves both newer versions with basic auth only, like the seed’s wget --user --ask-password', () => {
    for (const version of [CMW_VERSIONS.fileActivation, CMW_VERSIONS.holdLock]) {
      const url = `${info.artifactServer}/${cmwArchiveName(version)}`;
      expect(curl([url])).toBe('401');
      expect(curl(['-u', `${CMW_DISTR_USER}:wrong`, url])).toBe('401');
      const out = path.join(ctx.labDir, cmwArchiveName(version));
      expect(curl(['-u', `${CMW_DISTR_USER}:${password}`, url], out)).toBe('200');
      const entries = execFileSync('tar', ['-tzf', out], { encoding: 'utf8' }).split('\n');
      for (const script of [
        'version_install.sh',
        'version_list.sh',
        'instance_list.sh',
        'instance_upgrade.sh',
      ]) {
        expect(entries).toContain(`CMW_deb_${version}/scripts/${script}`);
      }
      expect(entries).toContain(`CMW_deb_${version}/platform/VERSION`);
      const install = execFileSync('tar', ['-xzOf', out, `CMW_deb_${version}/scripts/version_install.sh`], {
        encoding: 'utf8',
      });
      expect(install).toContain(`VERSION='${version}'`);
    }
    expect(
      curl([
        '--path-as-is',
        '-u',
        `${CMW_DISTR_USER}:${password}`,
        `${info.artifactServer}/../../../../etc/passwd`,
      ]),
    ).toBe('404');
    expect(
      curl(['-u', `${CMW_DISTR_USER}:${password}`, `${info.artifactServer}/5.0-cbap-9.9.9.9.deb.tar.gz`]),
    ).toBe('404');
    expect(
      curl([
        '-u',
        `${CMW_DISTR_USER}:${password}`,
        `${info.artifactServer}/..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd`,
      ]),
    ).toBe('404');
    expect(readFileSync(path.join(ctx.labDir, 'controller/artifact-server.log'), 'utf8')).not.toContain(
      password,
    );
  });

  it('works with the seed’s wget invocation', () => {
    const folder = path.join(ctx.labDir, 'shared-distr');
    const url = `${info.artifactServer}/${cmwArchiveName(CMW_VERSIONS.holdLock)}`;
    execFileSync('wget', ['-q', '--user', CMW_DISTR_USER, `--password=${password}`, '-P', folder, url]);
    expect(statSync(path.join(folder, cmwArchiveName(CMW_VERSIONS.holdLock))).size).toBeGreaterThan(500);
  });
});
