/**
 * The Comindware lab (seed 000): three nodes of one platform instance behind their own nginx,
 * an old version running, and a TeamCity-like artifact server on the controller offering two
 * newer versions (one per later config era). The simulators are lab/sim/comindware.mjs and
 * lab/sim/cmw-service.mjs; lab/sim/README.md documents what they observe and print.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { constants as fsConstants, openSync, closeSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { compareVersions } from '../../src/runbook/version.js';
import type { LabHostSpec, Scenario, ScenarioContext } from '../scenario.js';
import { cmwLine, cmwLogName } from '../sim/logformat.mjs';

const execFileAsync = promisify(execFile);

/** The instance name (`<instanceName>` of the seed). Example: unit `comindwarecmw`. */
export const CMW_INSTANCE = 'cmw';

/**
 * Versions of the lab: the one installed and running at boot, and one in each later config era
 * (file activation from 5.0.23654.0, hold.lock from 5.0.24000.0). Example: CMW_VERSIONS.holdLock.
 */
export const CMW_VERSIONS = {
  installed: '5.0.23500.0',
  fileActivation: '5.0.23700.0',
  holdLock: '5.0.24120.0',
} as const;

/** The artifact server's user (the seed's `<cmw-devops>`); its password is generated per lab. */
export const CMW_DISTR_USER = 'cmw-devops';
/** Where the artifact server listens (the controller's address in the lab). */
export const CMW_ARTIFACT_BIND = '127.0.10.1';
/** TeamCity's default port; another free port is taken when it is busy. */
export const CMW_ARTIFACT_PORT = 8111;
/** The `<path/to/distr>` part of the seed's URL. */
export const CMW_ARTIFACT_PATH = 'Cbap_Release_Deb/5.0';
/** The folder on the shared storage where the seed downloads distributions. */
export const CMW_DISTR_FOLDER = '/mnt/shared/distr';

/** Short defaults so lab runs and tests are quick; units may override them with Environment=. */
export const CMW_TIMINGS = {
  CMW_STARTUP_MS: 300,
  CMW_HEARTBEAT_MS: 1000,
  CMW_RUNNING_HEARTBEAT_MS: 15000,
  CMW_REBALANCE_DELAY_MS: 1500,
  CMW_LOAD_MS: 1000,
  CMW_CRASH_AFTER_MS: 3000,
} as const;

/** The three units of an instance, in the order the seed stops them. Example: cmwUnits('cmw')[1] -> 'comindwarecmw'. */
export function cmwUnits(instance = CMW_INSTANCE): [string, string, string] {
  return [`apigateway${instance}`, `comindware${instance}`, `adapterhost${instance}`];
}

/** Distribution archive name of a version, as in the seed. Example: '5.0-cbap-5.0.24120.0.deb.tar.gz'. */
export function cmwArchiveName(version: string): string {
  return `5.0-cbap-${version}.deb.tar.gz`;
}

/** Folder an archive unpacks to. Example: cmwDistFolder('5.0.24120.0') -> 'CMW_deb_5.0.24120.0'. */
export function cmwDistFolder(version: string): string {
  return `CMW_deb_${version}`;
}

const hosts: LabHostSpec[] = [
  { name: 'web', address: '127.0.10.10', roles: ['web'], vars: {} },
  { name: 'integration', address: '127.0.10.11', roles: ['integration'], vars: {} },
  { name: 'backup', address: '127.0.10.12', roles: ['backup'], vars: {} },
];

/**
 * The instance config as installed with the old version: flat `key: value` directives with
 * comments, including the two directives later versions refuse. Example: cmwConfig(host, 'cmw', peers).
 */
export function cmwConfig(host: LabHostSpec, instance: string, clusterAddresses: readonly string[]): string {
  return `# -----------------------------------------------------------------------------
# Comindware Business Application Platform: конфигурация экземпляра ${instance}
# Узел ${host.name} (${host.address}).
# После изменения перезапустите службы apigateway${instance}, comindware${instance}, adapterhost${instance}.
# -----------------------------------------------------------------------------

# Имя экземпляра
instanceName: ${instance}
# Имя кластера и имя этого узла в нём
clusterName: ${instance}-cluster
nodeName: ${host.name}

# Адрес и порт, на которых платформа принимает запросы (снаружи - через nginx)
http.address: ${host.address}
http.port: 8080

# Рабочая директория базы данных
db.workDir: /var/lib/comindware/${instance}/Database
# Хранилище файлов (вложения, документы)
userStorage.type: LocalDisk
userStorage.localDisk.path: /var/lib/comindware/${instance}/Streams
# Временные файлы
tempWorkDir: /var/lib/comindware/${instance}/Temp
# Резервные копии, создаваемые средствами Приложения
backup.defaultFolder: /var/backups/comindware/${instance}

# Признак работы в контейнере (Docker, Kubernetes)
isContainerEnvironment: false
# Узлы кластера Ignite (адрес:порт обнаружения)
clusterNodes:
${clusterAddresses.map((a) => `  - ${a}:47500`).join('\n')}

# Logging: Trace, Debug, Info, Warn, Error
log.level: Info
`;
}

/** The node's nginx site (Debian layout): both locations proxy to the local platform. Example: cmwNginxSite(host, 'cmw'). */
export function cmwNginxSite(host: LabHostSpec, instance: string): string {
  const upstream = `http://${host.address}:8080`;
  return `# Comindware Business Application Platform, instance ${instance}, node ${host.name}.
# During an upgrade of this node, point both locations at a working neighbour
# (see the upgrade runbook), then restore this file.

map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}

server {
    listen ${host.address}:80;
    server_name ${host.name} ${instance}.lab;

    access_log /var/log/nginx/comindware${instance}.access.log;
    error_log /var/log/nginx/comindware${instance}.error.log;

    client_max_body_size 300m;

    # Long polling / WebSocket channel of the platform (also used by integrations)
    location /async {
        proxy_pass ${upstream};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_read_timeout 3600s;
    }

    # Web application
    location / {
        proxy_pass ${upstream};
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_connect_timeout 5s;
        proxy_read_timeout 300s;
    }
}
`;
}

/**
 * Absolute path of the `yaml` package's entry, for the simulator inside hosts (they have no node_modules).
 * Example: yamlModulePath() -> '/work/main/node_modules/yaml/dist/index.js'.
 */
export function yamlModulePath(): string {
  return createRequire(import.meta.url).resolve('yaml');
}

/**
 * A unit file for one of the instance's services (the systemctl stand-in's subset of systemd).
 * Example: cmwUnitFile('comindware', 'cmw') -> '[Unit]\nDescription=...\n[Service]\nExecStart=/usr/bin/node /opt/lab/sim/comindware.mjs --instance=cmw\n...'.
 */
export function cmwUnitFile(service: 'apigateway' | 'comindware' | 'adapterhost', instance: string): string {
  const exec =
    service === 'comindware'
      ? `/usr/bin/node /opt/lab/sim/comindware.mjs --instance=${instance}`
      : `/usr/bin/node /opt/lab/sim/cmw-service.mjs --role=${service} --instance=${instance}`;
  const description = {
    apigateway: 'API gateway',
    comindware: 'Business Application Platform',
    adapterhost: 'adapter host',
  }[service];
  const env =
    service === 'comindware'
      ? [...Object.entries(CMW_TIMINGS).map(([k, v]) => `${k}=${v}`), `LAB_YAML_MODULE=${yamlModulePath()}`]
      : [`CMW_RUNNING_HEARTBEAT_MS=${CMW_TIMINGS.CMW_RUNNING_HEARTBEAT_MS}`];
  return [
    '[Unit]',
    `Description=Comindware ${description} (instance ${instance})`,
    'After=network.target',
    '',
    '[Service]',
    'Type=simple',
    'WorkingDirectory=/var/www',
    `ExecStart=${exec}`,
    ...env.map((e) => `Environment=${e}`),
    'KillSignal=SIGTERM',
    'TimeoutStopSec=10',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/**
 * Files of one installed version (`/var/www/.cmw_version/<version>/`, and the `platform/` folder
 * of a distribution). Example: cmwPayload('5.0.24120.0')['VERSION'] -> '5.0.24120.0\n'.
 */
export function cmwPayload(version: string): Record<string, string> {
  return {
    VERSION: `${version}\n`,
    'Comindware.Platform.Web.dll': `lab stand-in for the platform binaries of ${version}; the simulator is /opt/lab/sim/comindware.mjs\n`,
    'release-notes.txt': `Comindware Business Application Platform ${version}\n${releaseNote(version)}\n`,
  };
}

function releaseNote(version: string): string {
  if (compareVersions(version, '5.0.24000.0') >= 0) {
    return 'Directives db.waitForClusterActivation and db.waitForFileActivation are removed; use db.holdLock: true.';
  }
  if (compareVersions(version, '5.0.23654.0') >= 0) {
    return 'Directives isContainerEnvironment and clusterNodes are removed; db.waitForClusterActivation and db.waitForFileActivation are added.';
  }
  return 'Maintenance release.';
}

/**
 * Log lines of earlier starts the same day (and the day before), including a stale hold.lock
 * wait and stale "Skipping rebalancing" lines, so a naive `tail | grep` is fooled.
 * Example: cmwHistory(new Date(), 'cmw', 'web') -> [{ name: 'heartbeat_2025-03-14.log', text }, ...].
 */
export function cmwHistory(now: Date, instance: string, node: string): { name: string; text: string }[] {
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  // Today's lines are spread over the part of the day already gone, ending a minute ago at most;
  // in the first minute of a day there was no earlier start today.
  const todaySpan = now.getTime() - midnight.getTime() - 60_000;
  const at = (day: Date, span: number, fraction: number, plusMs = 0) =>
    new Date(day.getTime() + Math.floor(span * fraction) + plusMs);
  const lock = `/var/lib/comindware/${instance}/Database/hold.lock`;
  const files: { name: string; text: string }[] = [];
  const days: [Date, number][] = [[yesterday, 86_000_000]];
  if (todaySpan > 0) days.push([midnight, todaySpan]);
  for (const [day, span] of days) {
    const hb: string[] = [];
    const ig: string[] = [];
    const t1 = (ms: number) => at(day, span, 0.2, ms);
    const t2 = (ms: number) => at(day, span, 0.6, ms);
    hb.push(
      cmwLine(
        t1(0),
        7,
        'INFO',
        `Starting Comindware Business Application Platform: instance ${instance}, node ${node}, pid 2113`,
      ),
    );
    hb.push(cmwLine(t1(150), 7, 'INFO', `Platform loading is on hold: waiting for removal of ${lock}`));
    hb.push(cmwLine(t1(1150), 7, 'INFO', `Platform loading is on hold: waiting for removal of ${lock}`));
    ig.push(
      cmwLine(
        t1(900),
        23,
        'INFO',
        `Started exchange init [topVer=AffinityTopologyVersion [topVer=4, minorTopVer=0], crd=false, evt=NODE_JOINED]`,
      ),
    );
    ig.push(
      cmwLine(
        t1(2400),
        23,
        'INFO',
        'Skipping rebalancing (nothing scheduled) [top=AffinityTopologyVersion [topVer=4, minorTopVer=0], force=false, evt=NODE_JOINED]',
      ),
    );
    hb.push(cmwLine(t1(3100), 7, 'INFO', `${lock} removed: hold released`));
    hb.push(cmwLine(t1(4300), 7, 'INFO', 'Platform loaded in 1187 ms: version 5.0.23500.0'));
    hb.push(cmwLine(t2(0), 7, 'INFO', 'Stopping platform (SIGTERM)'));
    hb.push(
      cmwLine(
        t2(900),
        7,
        'INFO',
        `Starting Comindware Business Application Platform: instance ${instance}, node ${node}, pid 2688`,
      ),
    );
    ig.push(
      cmwLine(
        t2(1400),
        23,
        'INFO',
        'Skipping rebalancing (nothing scheduled) [top=AffinityTopologyVersion [topVer=6, minorTopVer=0], force=false, evt=NODE_JOINED]',
      ),
    );
    hb.push(cmwLine(t2(2300), 7, 'INFO', 'Platform loaded in 1302 ms: version 5.0.23500.0'));
    hb.push(
      cmwLine(
        t2(17300),
        7,
        'INFO',
        `Heartbeat: instance ${instance} version 5.0.23500.0 running, uptime 15s`,
      ),
    );
    files.push({ name: cmwLogName('heartbeat', day), text: `${hb.join('\n')}\n` });
    files.push({ name: cmwLogName('igniteClient', day), text: `${ig.join('\n')}\n` });
  }
  return files;
}

async function writeFile(file: string, text: string, mode?: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text, mode === undefined ? undefined : { mode });
  if (mode !== undefined) await fs.chmod(file, mode);
}

async function writePayload(dir: string, version: string): Promise<void> {
  for (const [name, text] of Object.entries(cmwPayload(version))) await writeFile(path.join(dir, name), text);
}

/**
 * Marks a host root as installed; returns false when it already was. A host keeps its state across
 * `lab down`/`lab up` like a server keeps its disk, so a second populate changes nothing.
 * Example: await claimFirstInstall(root, 'ecsc') -> true, then false.
 */
export async function claimFirstInstall(root: string, scenario: string): Promise<boolean> {
  const marker = path.join(root, 'etc/lab/installed');
  if (await fs.stat(marker).catch(() => undefined)) return false;
  await writeFile(marker, `${scenario}\n`);
  return true;
}

async function populate(root: string, host: LabHostSpec, ctx: ScenarioContext): Promise<void> {
  await fs.mkdir(path.join(ctx.sharedDir, 'distr'), { recursive: true });
  if (!(await claimFirstInstall(root, 'comindware'))) return;
  const instance = CMW_INSTANCE;
  const r = (p: string) => path.join(root, p);
  const peers = hosts.map((h) => (h.name === host.name ? host.address : h.address));
  await writeFile(
    r(`usr/share/comindware/configs/instance/${instance}.yml`),
    cmwConfig(host, instance, peers),
  );
  await writePayload(r(`var/www/.cmw_version/${CMW_VERSIONS.installed}`), CMW_VERSIONS.installed);
  await fs.mkdir(r('var/www/.cmw_environment'), { recursive: true });
  const data = r(`var/lib/comindware/${instance}`);
  await writeFile(path.join(data, 'version'), `${CMW_VERSIONS.installed}\n`);
  await writeFile(path.join(data, 'Database/schema.version'), `${CMW_VERSIONS.installed}\n`);
  await writeFile(
    path.join(data, 'Database/objects.dat'),
    `lab data of instance ${instance} on ${host.name}\n`,
  );
  await writeFile(path.join(data, 'Streams/attachments.idx'), 'no attachments\n');
  await fs.mkdir(path.join(data, 'Temp'), { recursive: true });
  for (const service of ['apigateway', 'comindware', 'adapterhost'] as const) {
    await writeFile(r(`etc/systemd/system/${service}${instance}.service`), cmwUnitFile(service, instance));
  }
  await writeFile(r(`etc/nginx/sites-enabled/comindware${instance}`), cmwNginxSite(host, instance));
  for (const { name, text } of cmwHistory(new Date(), instance, host.name)) {
    await writeFile(r(`var/log/comindware/${instance}/${name}`), text);
  }
}

/** The artifact server's password file on the controller. Example: '<labDir>/secrets/distr_password'. */
export function cmwPasswordFile(ctx: Pick<ScenarioContext, 'labDir'>): string {
  return path.join(ctx.labDir, 'secrets', 'distr_password');
}

/** Folder served under /repository/download/. Example: '<labDir>/artifacts/comindware'. */
export function cmwArtifactRoot(ctx: Pick<ScenarioContext, 'labDir'>): string {
  return path.join(ctx.labDir, 'artifacts', 'comindware');
}

async function ensurePassword(file: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    await fs.access(file, fsConstants.R_OK);
    return;
  } catch {
    // first start of this lab
  }
  await writeFile(file, `${randomBytes(18).toString('base64url')}\n`, 0o600);
}

/**
 * Builds `5.0-cbap-<version>.deb.tar.gz` (scripts + platform payload) unless it exists.
 * Example: await buildCmwDistribution(ctx, '5.0.24120.0') -> '<labDir>/artifacts/comindware/Cbap_Release_Deb/5.0/5.0-cbap-5.0.24120.0.deb.tar.gz'.
 */
export async function buildCmwDistribution(ctx: ScenarioContext, version: string): Promise<string> {
  const archive = path.join(cmwArtifactRoot(ctx), CMW_ARTIFACT_PATH, cmwArchiveName(version));
  if (await fs.stat(archive).catch(() => undefined)) return archive;
  const staging = await fs.mkdtemp(path.join(ctx.labDir, '.build-'));
  try {
    const top = path.join(staging, cmwDistFolder(version));
    const templates = path.join(ctx.labSourceDir, 'sim', 'cmw-dist');
    for (const script of [
      'version_install.sh',
      'version_list.sh',
      'instance_list.sh',
      'instance_upgrade.sh',
    ]) {
      const text = await fs.readFile(path.join(templates, script), 'utf8');
      await writeFile(path.join(top, 'scripts', script), text.replaceAll('@VERSION@', version), 0o755);
    }
    await writePayload(path.join(top, 'platform'), version);
    await fs.mkdir(path.dirname(archive), { recursive: true });
    await execFileAsync('tar', ['-czf', `${archive}.part`, '-C', staging, cmwDistFolder(version)]);
    await fs.rename(`${archive}.part`, archive);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  return archive;
}

interface ArtifactServerOptions {
  script: string;
  root: string;
  bind: string;
  port: number;
  user: string;
  passwordFile: string;
  stateFile: string;
  logFile: string;
}

/**
 * Starts the artifact server detached (it outlives `cutover lab up`) and waits until it says
 * where it listens. Example: await startArtifactServer(opts) -> { url: 'http://127.0.10.1:8111/repository/download', pid }.
 */
async function startArtifactServer(o: ArtifactServerOptions): Promise<{ url: string; pid: number }> {
  await fs.mkdir(path.dirname(o.stateFile), { recursive: true });
  await fs.rm(o.stateFile, { force: true });
  const log = openSync(o.logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      o.script,
      `--root=${o.root}`,
      `--bind=${o.bind}`,
      `--port=${o.port}`,
      `--user=${o.user}`,
      `--password-file=${o.passwordFile}`,
      `--state-file=${o.stateFile}`,
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  child.unref();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const state = await fs.readFile(o.stateFile, 'utf8').catch(() => undefined);
    if (state) {
      const { url, pid } = JSON.parse(state) as { url: string; pid: number };
      return { url, pid };
    }
    if (exited !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (exited === null) child.kill('SIGKILL');
  const tail = (await fs.readFile(o.logFile, 'utf8').catch(() => '')).split('\n').slice(-5).join('\n');
  throw new Error(
    `artifact server did not start on ${o.bind}:${o.port} (${exited === null ? 'no answer in 10s' : `exit ${exited}`}); ` +
      `see ${o.logFile}:\n${tail}`,
  );
}

function artifactStateFile(ctx: Pick<ScenarioContext, 'labDir'>): string {
  return path.join(ctx.labDir, 'controller', 'artifact-server.json');
}

async function startController(ctx: ScenarioContext) {
  const passwordFile = cmwPasswordFile(ctx);
  await ensurePassword(passwordFile);
  for (const version of [CMW_VERSIONS.fileActivation, CMW_VERSIONS.holdLock])
    await buildCmwDistribution(ctx, version);
  const server = await startArtifactServer({
    script: path.join(ctx.labSourceDir, 'sim', 'artifact-server.mjs'),
    root: cmwArtifactRoot(ctx),
    bind: CMW_ARTIFACT_BIND,
    port: CMW_ARTIFACT_PORT,
    user: CMW_DISTR_USER,
    passwordFile,
    stateFile: artifactStateFile(ctx),
    logFile: path.join(ctx.labDir, 'controller', 'artifact-server.log'),
  });
  return {
    info: {
      artifactServer: `${server.url}/${CMW_ARTIFACT_PATH}`,
      distrUser: CMW_DISTR_USER,
      distrPasswordFile: passwordFile,
    },
    pids: [server.pid],
  };
}

function inventoryVars(ctx: ScenarioContext): Record<string, unknown> {
  let base = `http://${CMW_ARTIFACT_BIND}:${CMW_ARTIFACT_PORT}/repository/download`;
  try {
    base = JSON.parse(readFileSync(artifactStateFile(ctx), 'utf8')).url ?? base;
  } catch {
    // not started yet: the fixed port is what it will try first
  }
  return {
    instance: CMW_INSTANCE,
    cmw_version_installed: CMW_VERSIONS.installed,
    cmw_version_file_activation: CMW_VERSIONS.fileActivation,
    cmw_version_hold_lock: CMW_VERSIONS.holdLock,
    distr_url: `${base}/${CMW_ARTIFACT_PATH}`,
    distr_user: CMW_DISTR_USER,
    distr_password_file: cmwPasswordFile(ctx),
    distr_folder: CMW_DISTR_FOLDER,
  };
}

/**
 * The Comindware scenario. Example: `cutover lab up comindware`, then
 * `ssh -F .lab/comindware/ssh_config web tail -n 3 /var/log/comindware/cmw/heartbeat_$(date +%F).log`.
 */
export const comindwareScenario: Scenario = {
  name: 'comindware',
  hosts,
  sharedStorage: true,
  populate,
  // The lab gives every host an `nginx` unit, so reload/status work as on Debian.
  boot: () => ['systemctl start nginx', `systemctl start ${cmwUnits().join(' ')}`],
  startController,
  inventoryVars,
};
