#!/usr/bin/env node
// Simulator of one Comindware Business Application Platform instance on one node: the process
// behind the `comindware<instance>` unit. What it reads, writes and serves: lab/sim/README.md.
// Usage: node /opt/lab/sim/comindware.mjs --instance=cmw
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  appendLine,
  compareVersions,
  envMs,
  exists,
  fault,
  handleTermination,
  holdStart,
  hostNow,
  parseOptions,
  readText,
  say,
  sleep,
  slowStartMs,
  surviveClosedOutput,
} from './common.mjs';
import { cmwLine, cmwLogName } from './logformat.mjs';

/** From this version `isContainerEnvironment`/`clusterNodes` are refused and file activation is honoured. */
const ERA_FILE_ACTIVATION = '5.0.23654.0';
/** From this version the file-activation directives are refused too and `db.holdLock` is honoured. */
const ERA_HOLD_LOCK = '5.0.24000.0';

const LEGACY_DIRECTIVES = ['isContainerEnvironment', 'clusterNodes'];
const FILE_ACTIVATION_DIRECTIVES = ['db.waitForClusterActivation', 'db.waitForFileActivation'];

const options = parseOptions(process.argv.slice(2));
const instance = options.instance;
if (!instance || !/^[A-Za-z0-9_-]+$/.test(instance)) {
  process.stderr.write('usage: comindware.mjs --instance=<instanceName>\n');
  process.exit(2);
}

const paths = {
  config: `/usr/share/comindware/configs/instance/${instance}.yml`,
  logDir: `/var/log/comindware/${instance}`,
  versionFile: `/var/lib/comindware/${instance}/version`,
  versionsDir: '/var/www/.cmw_version',
};

const timing = {
  startup: envMs('CMW_STARTUP_MS', 300),
  heartbeat: envMs('CMW_HEARTBEAT_MS', 1000),
  runningHeartbeat: envMs('CMW_RUNNING_HEARTBEAT_MS', 15000),
  rebalanceDelay: envMs('CMW_REBALANCE_DELAY_MS', 1500),
  load: envMs('CMW_LOAD_MS', 1000),
  crashAfter: envMs('CMW_CRASH_AFTER_MS', 3000),
  poll: envMs('CMW_POLL_MS', 200),
};

const node = os.hostname();
const nodeId = randomUUID();
/** starting | holding | loading | running | stopping */
let state = 'starting';
let version = 'unknown';
/** none | started | done */
let rebalance = 'none';
let server;
let listenUrl = '';

function write(kind, thread, level, message) {
  const now = hostNow();
  const line = cmwLine(now, thread, level, message);
  appendLine(path.join(paths.logDir, cmwLogName(kind, now)), line);
  say(`${kind}: ${line}`);
}
const heartbeat = (level, message) => write('heartbeat', 7, level, message);
const ignite = (level, message) => write('igniteClient', 23, level, message);

/** Logs why the platform cannot start and exits 1, as the real service does. */
function refuse(message) {
  heartbeat('ERROR', message);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function isTrue(value) {
  return value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true');
}

async function loadYaml() {
  // The yaml package is not installed inside lab hosts: the unit passes the repo's copy.
  // Inside lab hosts the repo's copy is bound at /opt/lab/node_modules/yaml, which Node finds by itself.
  const spec = process.env.LAB_YAML_MODULE;
  try {
    const mod = await (spec ? import(pathToFileURL(spec).href).catch(() => import('yaml')) : import('yaml'));
    return mod.parseDocument ? mod : mod.default;
  } catch (err) {
    refuse(
      `Cannot load the YAML parser (${spec ? `LAB_YAML_MODULE=${spec}` : 'package "yaml"'}): ${err.message}. ` +
        `Set Environment=LAB_YAML_MODULE=<repo>/node_modules/yaml/dist/index.js in the unit.`,
    );
  }
}

async function readConfig() {
  const text = readText(paths.config);
  if (text === undefined)
    refuse(`Configuration file ${paths.config} not found: create it or reinstall the instance.`);
  const YAML = await loadYaml();
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const at = e.linePos?.[0];
      return `${paths.config}:${at ? `${at.line}:${at.col}` : '?'}: ${e.message.split('\n')[0]}`;
    });
    refuse(`Configuration is not valid YAML: ${problems.join('; ')}`);
  }
  const config = doc.toJS() ?? {};
  if (typeof config !== 'object' || Array.isArray(config)) {
    refuse(`Configuration ${paths.config} must be a mapping of directives (key: value).`);
  }
  return config;
}

function eraOf(v) {
  if (compareVersions(v, ERA_HOLD_LOCK) >= 0) return 'hold-lock';
  if (compareVersions(v, ERA_FILE_ACTIVATION) >= 0) return 'file-activation';
  return 'legacy';
}

/** Refuses directives this version no longer supports; warns about ones it does not know yet. */
function checkDirectives(config, era) {
  const has = (key) => Object.hasOwn(config, key);
  const refused = [];
  const unknown = [];
  if (era !== 'legacy') {
    for (const key of LEGACY_DIRECTIVES)
      if (has(key)) refused.push(`"${key}" (removed in ${ERA_FILE_ACTIVATION})`);
  }
  if (era === 'hold-lock') {
    for (const key of FILE_ACTIVATION_DIRECTIVES)
      if (has(key)) refused.push(`"${key}" (removed in ${ERA_HOLD_LOCK})`);
  }
  if (era === 'legacy') unknown.push(...FILE_ACTIVATION_DIRECTIVES.filter(has));
  if (era !== 'hold-lock' && has('db.holdLock')) unknown.push('db.holdLock');
  for (const key of unknown)
    heartbeat('WARN', `Unknown directive "${key}" in ${paths.config} ignored by version ${version}`);
  if (refused.length > 0) {
    refuse(
      `Configuration ${paths.config} is not supported by version ${version}: directive ${refused.join(', ')}. ` +
        'Remove these directives from the configuration and start the service again.',
    );
  }
  for (const key of ['db.workDir', 'http.address', 'http.port']) {
    if (!has(key) || config[key] === null || config[key] === '') {
      refuse(
        `Configuration ${paths.config}: directive "${key}" is required. Add it and start the service again.`,
      );
    }
  }
}

function readInstanceVersion() {
  const recorded = readText(paths.versionFile)?.trim();
  if (!recorded) {
    refuse(
      `Instance ${instance} has no version record ${paths.versionFile}: restore it from a backup or run instance_upgrade.sh.`,
    );
  }
  const installed = readText(path.join(paths.versionsDir, recorded, 'VERSION'))?.trim();
  if (installed !== recorded) {
    refuse(
      `Version ${recorded} of instance ${instance} is not installed in ${path.join(paths.versionsDir, recorded)}: ` +
        'run version_install.sh of that version.',
    );
  }
  return recorded;
}

/** The database remembers the version that last migrated it; binaries and data must agree. */
function checkDatabase(workDir) {
  const schemaFile = path.join(workDir, 'schema.version');
  const schema = readText(schemaFile)?.trim();
  if (!schema) {
    fs.mkdirSync(workDir, { recursive: true });
    fs.writeFileSync(schemaFile, `${version}\n`);
    heartbeat('INFO', `Initialised a new database in ${workDir}`);
    return;
  }
  const order = compareVersions(schema, version);
  if (order > 0) {
    refuse(
      `Database ${workDir} was migrated by version ${schema}, newer than ${version}: ` +
        `restore the backup of /var/lib/comindware/${instance} made before the upgrade.`,
    );
  }
  if (order < 0) {
    refuse(
      `Database ${workDir} is at version ${schema}, older than ${version}: run instance_upgrade.sh -n=${instance}.`,
    );
  }
}

/** What keeps the platform from loading, if anything: returns { active(), waiting, released }. */
function holdOf(config, era, workDir) {
  if (era === 'file-activation' && isTrue(config['db.waitForClusterActivation'])) {
    const file = config['db.waitForFileActivation'];
    if (typeof file !== 'string' || !file.startsWith('/')) {
      refuse(
        `Configuration ${paths.config}: db.waitForClusterActivation is true but db.waitForFileActivation ` +
          'is not an absolute file path. Set it (e.g. /var/www/.cmw_environment/<instance>) and start again.',
      );
    }
    return {
      active: () => !exists(file),
      waiting: `Waiting for cluster activation: file ${file} does not exist yet`,
      released: `Activation file ${file} found: cluster activated`,
    };
  }
  if (era === 'hold-lock' && isTrue(config['db.holdLock'])) {
    const lock = path.join(workDir, 'hold.lock');
    return {
      active: () => exists(lock),
      waiting: `Platform loading is on hold: waiting for removal of ${lock}`,
      released: `${lock} removed: hold released`,
    };
  }
  return undefined;
}

function topology() {
  return `AffinityTopologyVersion [topVer=${3 + Math.floor(Math.random() * 5)}, minorTopVer=0]`;
}

/** The partition map exchange a joining node performs; the seed waits for its "Skipping rebalancing" line. */
function startRebalancing(noRebalance) {
  if (rebalance !== 'none') return;
  rebalance = 'started';
  const top = topology();
  ignite(
    'INFO',
    `Started exchange init [topVer=${top}, crd=false, evt=NODE_JOINED, evtNode=${nodeId}, customEvt=null, allowMerge=true]`,
  );
  if (noRebalance) {
    const timer = setInterval(
      () => {
        ignite(
          'WARN',
          `Still waiting for initial partition map exchange [fut=GridDhtPartitionsExchangeFuture [initTopVer=${top}, evt=NODE_JOINED, done=false]]`,
        );
      },
      Math.max(timing.rebalanceDelay, 200),
    );
    timer.unref();
    return;
  }
  setTimeout(() => {
    ignite(
      'INFO',
      `Skipping rebalancing (nothing scheduled) [top=${top}, force=false, evt=NODE_JOINED, node=${nodeId}]`,
    );
    ignite(
      'INFO',
      `Completed partition exchange [localNode=${nodeId}, exchange=GridDhtPartitionsExchangeFuture [topVer=${top}, evt=NODE_JOINED, done=true]]`,
    );
    rebalance = 'done';
  }, timing.rebalanceDelay).unref();
}

function page(title, body) {
  return (
    '<!DOCTYPE html>\n<html lang="ru">\n<head>\n<meta charset="utf-8">\n' +
    `<title>${title}</title>\n<meta name="cmw-version" content="${version}">\n</head>\n<body>\n${body}\n` +
    `<footer>Comindware Business Application Platform ${version} &middot; ${node}</footer>\n</body>\n</html>\n`
  );
}

function loginPage() {
  return page(
    'Login | Comindware Business Application Platform',
    '<h1>Вход в систему</h1>\n<form method="post" action="/Account/Login">\n' +
      '<label>Имя пользователя <input name="username" autocomplete="username"></label>\n' +
      '<label>Пароль <input name="password" type="password" autocomplete="current-password"></label>\n' +
      '<button type="submit">Войти</button>\n</form>',
  );
}

function handle(req, res, noRebalance) {
  req.resume();
  if (state === 'holding') startRebalancing(noRebalance);
  const pathname = new URL(req.url ?? '/', 'http://node').pathname;
  const headers = {
    'X-Cmw-Version': version,
    'X-Cmw-Instance': instance,
    'X-Cmw-Node': node,
    Server: 'Kestrel',
  };
  const send = (status, type, body, extra = {}) => {
    res.writeHead(status, {
      ...headers,
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      ...extra,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (pathname === '/api/version') {
    send(200, 'application/json', `${JSON.stringify({ instance, version, node, state })}\n`);
    return;
  }
  if (state !== 'running') {
    send(
      503,
      'text/html; charset=utf-8',
      page(
        'Service Unavailable | Comindware Business Application Platform',
        '<h1>Платформа загружается</h1>',
      ),
      { 'Retry-After': '5' },
    );
    return;
  }
  if (pathname === '/async' || pathname.startsWith('/async/')) {
    send(200, 'application/json', `${JSON.stringify({ transport: 'longPolling', node, version })}\n`);
    return;
  }
  if (pathname === '/Account/Login' && req.method === 'POST') {
    send(302, 'text/plain', 'Found\n', { Location: '/', 'Set-Cookie': 'cmw.auth=lab; Path=/; HttpOnly' });
    return;
  }
  if (pathname === '/' || pathname.startsWith('/Home') || pathname.startsWith('/Account/Login')) {
    send(200, 'text/html; charset=utf-8', loginPage());
    return;
  }
  send(404, 'text/plain', 'Not Found\n');
}

function listen(config, noRebalance) {
  const address = String(config['http.address']);
  const port = Number(config['http.port']);
  return new Promise((resolve) => {
    server = http.createServer((req, res) => handle(req, res, noRebalance));
    server.on('error', (err) => {
      refuse(
        `Cannot listen on ${address}:${port} (http.address/http.port in ${paths.config}): ${err.message}`,
      );
    });
    server.listen(port, address, () => {
      listenUrl = `http://${address}:${port}/`;
      heartbeat('INFO', `Now listening on: ${listenUrl}`);
      resolve();
    });
  });
}

function stop(signal) {
  state = 'stopping';
  heartbeat('INFO', `Stopping platform (${signal})`);
  ignite('INFO', `Ignite client node stopped [id=${nodeId}]`);
  server?.closeAllConnections?.();
  server?.close();
  heartbeat('INFO', 'Platform stopped');
  process.exit(0);
}

async function main() {
  surviveClosedOutput();
  handleTermination({
    onTerm: stop,
    onIgnored: (signal) => heartbeat('WARN', `${signal} received and ignored (lab fault ignore-term)`),
  });
  // Knobs are read once, when the process starts (ignore-term: when the signal arrives).
  const failStart = fault('fail-start') !== undefined;
  const noRebalance = fault('no-rebalance') !== undefined;
  const crashAfterStart = fault('crash-after-start') !== undefined;
  const extraLoadMs = slowStartMs();

  heartbeat(
    'INFO',
    `Starting Comindware Business Application Platform: instance ${instance}, node ${node}, pid ${process.pid}`,
  );
  version = readInstanceVersion();
  heartbeat('INFO', `Version ${version} from ${path.join(paths.versionsDir, version)}`);
  const config = await readConfig();
  heartbeat('INFO', `Configuration loaded from ${paths.config}`);
  const era = eraOf(version);
  checkDirectives(config, era);
  const workDir = String(config['db.workDir']);
  checkDatabase(workDir);
  await sleep(timing.startup);
  await holdStart((line) => heartbeat('INFO', line));
  if (failStart) {
    refuse(
      `Platform start failed: System.IO.IOException: the database in ${workDir} could not be opened (lab fault fail-start)`,
    );
  }

  const hold = holdOf(config, era, workDir);
  const holding = hold?.active() ?? false;
  state = holding ? 'holding' : 'loading';
  await listen(config, noRebalance);
  ignite('INFO', `Ignite client node starting [instance=${instance}, node=${node}, id=${nodeId}]`);
  ignite(
    'INFO',
    `Topology snapshot [ver=${2 + Math.floor(Math.random() * 6)}, servers=3, clients=1, state=ACTIVE, CPUs=2]`,
  );

  if (holding) {
    heartbeat('INFO', hold.waiting);
    let lastBeat = Date.now();
    while (hold.active()) {
      await sleep(timing.poll);
      if (Date.now() - lastBeat >= timing.heartbeat && hold.active()) {
        heartbeat('INFO', hold.waiting);
        lastBeat = Date.now();
      }
    }
    heartbeat('INFO', hold.released);
    state = 'loading';
  } else {
    // Without a hold the node joins the cluster (and rebalances) as it starts.
    startRebalancing(noRebalance);
  }

  const loadStart = Date.now();
  heartbeat('INFO', 'Loading platform: solutions, data model, business processes');
  await sleep(timing.load + extraLoadMs);
  state = 'running';
  heartbeat(
    'INFO',
    `Platform loaded in ${Date.now() - loadStart} ms: version ${version}, login page at ${listenUrl}`,
  );

  const startedAt = Date.now();
  setInterval(() => {
    const uptime = Math.round((Date.now() - startedAt) / 1000);
    heartbeat('INFO', `Heartbeat: instance ${instance} version ${version} running, uptime ${uptime}s`);
  }, timing.runningHeartbeat);

  if (crashAfterStart) {
    setTimeout(() => {
      heartbeat(
        'FATAL',
        'Unhandled exception: System.NullReferenceException: Object reference not set to an instance of an object. ' +
          'at Comindware.Platform.Core.Scheduler.Tick() (lab fault crash-after-start)',
      );
      process.exit(134);
    }, timing.crashAfter);
  }
}

main().catch((err) => refuse(`Platform start failed: ${err.stack ?? err}`));
