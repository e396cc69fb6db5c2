#!/usr/bin/env node
// The lab's JVM stand-in (there is no Java in the lab). Hosts get `/opt/jdk<version>/bin/java`
// wrappers that run `exec -a "$0" node /opt/lab/sim/java.mjs "$@"`; this renames the process so
// `ps -ef` shows exactly the java command line (`/opt/jdk1.7.0_80/bin/java -D... org.apache.
// catalina.startup.Bootstrap start`) and its comm is `java` (pgrep java), then runs the
// simulator of the main class or jar: Tomcat, the schedule services, the monitoring agent.
import fs from 'node:fs';
import path from 'node:path';
import { say, surviveClosedOutput } from './common.mjs';

const args = process.argv.slice(2);
const javaPath = process.argv0;
process.title = [javaPath, ...args].join(' ');
try {
  fs.writeFileSync('/proc/self/comm', 'java');
} catch {
  // not Linux: the title is enough
}
surviveClosedOutput();

/** `1.7.0_80` from `/opt/jdk1.7.0_80/bin/java`. */
function javaVersion() {
  const m = /jdk(1\.\d+\.\d+_\d+)/.exec(javaPath);
  return m ? m[1] : '1.8.0_121';
}

function printVersion() {
  const v = javaVersion();
  const minor = v.split('.')[1];
  process.stderr.write(
    `java version "${v}"\nJava(TM) SE Runtime Environment (build ${v}-b15)\n` +
      `Java HotSpot(TM) 64-Bit Server VM (build ${minor === '7' ? '24.80-b11' : '25.121-b13'}, mixed mode)\n`,
  );
}

/** A lab "jar" is a text manifest: `Key: value` lines (Implementation-Title, Lab-Simulator, ...). */
function readManifest(jar) {
  const text = fs.readFileSync(path.resolve(jar), 'utf8');
  const manifest = {};
  for (const line of text.split('\n')) {
    const m = /^([\w-]+):\s*(.*)$/.exec(line.trim());
    if (m) manifest[m[1]] = m[2];
  }
  return manifest;
}

async function main() {
  if (args.includes('-version')) {
    printVersion();
    return;
  }
  if (args.includes('org.apache.catalina.startup.Bootstrap')) {
    const { runTomcat } = await import('./tomcat.mjs');
    await runTomcat(args);
    return;
  }
  if (args.includes('org.apache.catalina.util.ServerInfo')) {
    say(
      'Server version: Apache Tomcat/7.0.67\nServer built:   Dec 7 2015 13:07:11 UTC\nServer number:  7.0.67.0',
    );
    say(`OS Name:        Linux\nJVM Version:    ${javaVersion()}-b15`);
    return;
  }
  const jarAt = args.indexOf('-jar');
  if (jarAt >= 0) {
    const jar = args[jarAt + 1];
    let manifest;
    try {
      manifest = readManifest(jar ?? '');
    } catch {
      process.stderr.write(`Error: Unable to access jarfile ${jar ?? ''}\n`);
      process.exit(1);
    }
    if (manifest['Lab-Simulator'] === 'scheduler') {
      const { runScheduler } = await import('./scheduler.mjs');
      await runScheduler(args.slice(jarAt + 2), manifest, path.resolve(jar));
      return;
    }
    process.stderr.write(`no main manifest attribute, in ${jar}\n`);
    process.exit(1);
  }
  if (args.includes('com.cloudmonitor.agent.AgentMain')) {
    const { runAgent } = await import('./monitor-agent.mjs');
    await runAgent(args.slice(args.indexOf('com.cloudmonitor.agent.AgentMain') + 1));
    return;
  }
  const mainClass = args.find(
    (a, i) => !a.startsWith('-') && !['-cp', '-classpath'].includes(args[i - 1] ?? ''),
  );
  process.stderr.write(
    mainClass
      ? `Error: Could not find or load main class ${mainClass}\n`
      : 'Usage: java [-options] class [args...]\n',
  );
  process.exit(1);
}

main().catch((err) => {
  process.stderr.write(`Exception in thread "main" java.lang.RuntimeException: ${err.stack ?? err}\n`);
  process.exit(1);
});
