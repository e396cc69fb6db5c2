// A host monitoring agent, run by java.mjs for `com.cloudmonitor.agent.AgentMain`. It exists so
// that every ecsc host has a second java process and `ps -ef | grep java` is ambiguous, as on the
// seed's hosts. It ignores the fault knobs (they are for the services).
import path from 'node:path';
import { appendLine, envMs, hostNow, say } from './common.mjs';
import { log4jLine } from './logformat.mjs';

/** Entry point from java.mjs. Example: await runAgent(['/opt/cloudmonitor/conf/agent.properties']). */
export async function runAgent(args) {
  const conf = args[0] ?? '/opt/cloudmonitor/conf/agent.properties';
  const logFile = path.join(path.dirname(path.dirname(conf)), 'logs', 'agent.log');
  const log = (message) => {
    const line = log4jLine(hostNow(), 'INFO', 'main', 'com.cloudmonitor.agent.AgentMain', message);
    appendLine(logFile, line);
    say(line);
  };
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      log(`agent stopping (${signal})`);
      process.exit(143);
    });
  }
  log(`cloudmonitor agent 3.1.7 started with ${conf}, pid ${process.pid}`);
  setInterval(() => log('metrics pushed: cpu, mem, disk, jvm'), envMs('LAB_AGENT_INTERVAL_MS', 30000));
}
