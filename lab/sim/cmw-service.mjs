#!/usr/bin/env node
// Simulator of the two companion services of a Comindware instance (`apigateway<instance>`,
// `adapterhost<instance>`): they log, stay up and stop on SIGTERM. Fault knobs are the
// platform's (comindware.mjs) only, so a fault test changes one process.
// Usage: node /opt/lab/sim/cmw-service.mjs --role=apigateway --instance=cmw
import os from 'node:os';
import path from 'node:path';
import { appendLine, envMs, hostNow, parseOptions, readText, say, surviveClosedOutput } from './common.mjs';
import { cmwLine, cmwLogName } from './logformat.mjs';

const { role, instance } = parseOptions(process.argv.slice(2));
if (!['apigateway', 'adapterhost'].includes(role) || !instance || !/^[A-Za-z0-9_-]+$/.test(instance)) {
  process.stderr.write('usage: cmw-service.mjs --role=apigateway|adapterhost --instance=<instanceName>\n');
  process.exit(2);
}

const logDir = `/var/log/comindware/${instance}`;
const version = readText(`/var/lib/comindware/${instance}/version`)?.trim() ?? 'unknown';

function log(level, message) {
  const now = hostNow();
  const line = cmwLine(now, 1, level, message);
  appendLine(path.join(logDir, cmwLogName(role, now)), line);
  say(line);
}

surviveClosedOutput();
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    log('INFO', `${role} stopping (${signal})`);
    process.exit(0);
  });
}
log(
  'INFO',
  `${role} started: instance ${instance}, version ${version}, node ${os.hostname()}, pid ${process.pid}`,
);
setInterval(() => log('INFO', `${role} alive`), envMs('CMW_RUNNING_HEARTBEAT_MS', 15000));
