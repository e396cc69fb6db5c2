// Simulator of the schedule / schedule-res services (Spring Boot jars), run by java.mjs for
// `java -jar lib/<svc>-<version>.jar --spring.config.location=conf/application.properties`
// from the service folder. It reads the real tree: the jar's manifest (name, version, main class),
// conf/application.properties (shipped; logging.file, server.port) overlaid with
// config/application.properties (node-local; server.address), and logs like Spring Boot 1.5 to
// logging.file and stdout. GET /version and /health on server.address:server.port.
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  appendLine,
  envMs,
  fault,
  handleTermination,
  hostNow,
  readText,
  say,
  sleep,
  holdStart,
  slowStartMs,
} from './common.mjs';
import { springLine } from './logformat.mjs';

function readProperties(file) {
  const props = {};
  for (const line of (readText(file) ?? '').split('\n')) {
    const m = /^\s*([^#!\s][^=:\s]*)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (m) props[m[1]] = m[2];
  }
  return props;
}

function option(args, name) {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/** Entry point from java.mjs. Example: await runScheduler(['--spring.config.location=conf/application.properties'], manifest, jarPath). */
export async function runScheduler(args, manifest, jarPath) {
  const name = manifest['Implementation-Title'] ?? 'app';
  const version = manifest['Implementation-Version'] ?? 'unknown';
  const mainClass = manifest['Start-Class'] ?? 'com.cloud.Application';
  const shortMain = mainClass
    .split('.')
    .map((p, i, all) => (i < all.length - 1 ? p[0] : p))
    .join('.');
  const simpleMain = mainClass.split('.').pop();
  const locations = (option(args, 'spring.config.location') ?? 'application.properties').split(',');
  const props = {};
  for (const location of [...locations, 'config/application.properties']) {
    Object.assign(props, readProperties(path.resolve(location.replace(/^file:/, ''))));
  }
  const logFile = props['logging.file'];
  const port = Number(props['server.port'] ?? 8080);
  const address = props['server.address'];

  const log = (level, logger, message, thread = 'main') => {
    const line = springLine(hostNow(), level, process.pid, thread, logger, message);
    if (logFile) appendLine(logFile, line);
    say(line);
  };
  const failStart = fault('fail-start') !== undefined;
  const crashAfterStart = fault('crash-after-start') !== undefined;
  const extraMs = slowStartMs();
  const began = Date.now();
  let server;

  handleTermination({
    onTerm: () => {
      log(
        'INFO',
        'ationConfigEmbeddedWebApplicationContext',
        `Closing org.springframework.boot.context.embedded.AnnotationConfigEmbeddedWebApplicationContext@5b2133b1: startup date [${hostNow().toString()}]; root of context hierarchy`,
        'Thread-3',
      );
      log(
        'INFO',
        'o.s.s.concurrent.ThreadPoolTaskScheduler',
        "Shutting down ExecutorService 'taskScheduler'",
        'Thread-3',
      );
      log(
        'INFO',
        'o.s.j.e.a.AnnotationMBeanExporter',
        'Unregistering JMX-exposed beans on shutdown',
        'Thread-3',
      );
      server?.closeAllConnections?.();
      server?.close();
      process.exit(143);
    },
    onIgnored: (signal) =>
      log('WARN', shortMain, `${signal} ignored (lab fault ignore-term)`, 'SIGTERM handler'),
  });

  say(
    "\n  .   ____          _            __ _ _\n /\\\\ / ___'_ __ _ _(_)_ __  __ _ \\ \\ \\ \\\n" +
      "( ( )\\___ | '_ | '_| | '_ \\/ _` | \\ \\ \\ \\\n \\\\/  ___)| |_)| | | | | || (_| |  ) ) ) )\n" +
      "  '  |____| .__|_| |_|_| |_\\__, | / / / /\n =========|_|==============|___/=/_/_/_/\n :: Spring Boot ::        (v1.5.2.RELEASE)\n",
  );
  log(
    'INFO',
    shortMain,
    `Starting ${simpleMain} v${version} on ${os.hostname()} with PID ${process.pid} (${jarPath} started by root in ${process.cwd()})`,
  );
  log('INFO', shortMain, 'No active profile set, falling back to default profiles: default');
  await sleep(envMs('LAB_SCHEDULE_INIT_MS', 400));
  await holdStart((line) => log('INFO', shortMain, line));
  if (failStart) {
    log(
      'ERROR',
      'o.s.boot.SpringApplication',
      "Application startup failed\norg.springframework.beans.factory.BeanCreationException: Error creating bean with name 'quotaSyncJob' (lab fault fail-start)",
    );
    process.exit(1);
  }
  await sleep(envMs('LAB_SCHEDULE_START_MS', 1200) + extraMs);
  server = http.createServer((req, res) => {
    req.resume();
    const pathname = new URL(req.url ?? '/', 'http://app').pathname;
    const reply = (status, type, body) => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (pathname === '/version') return reply(200, 'text/plain;charset=UTF-8', `${name} ${version}\n`);
    if (pathname === '/health') return reply(200, 'application/json', '{"status":"UP"}\n');
    return reply(404, 'application/json', `{"status":404,"error":"Not Found","path":"${pathname}"}\n`);
  });
  const bindError = await new Promise((resolve) => {
    server.once('error', resolve);
    server.listen(port, address, () => resolve(undefined));
  });
  if (bindError) {
    log(
      'ERROR',
      'o.s.b.d.LoggingFailureAnalysisReporter',
      `\n\n***************************\nAPPLICATION FAILED TO START\n***************************\n\nDescription:\n\nThe Tomcat connector configured to listen on port ${port} failed to start. The port may already be in use or the connector may be misconfigured.\n`,
    );
    process.exit(1);
  }
  log('INFO', 's.b.c.e.t.TomcatEmbeddedServletContainer', `Tomcat started on port(s): ${port} (http)`);
  const seconds = ((Date.now() - began) / 1000).toFixed(3);
  log(
    'INFO',
    shortMain,
    `Started ${simpleMain} in ${seconds} seconds (JVM running for ${(Number(seconds) + 0.7).toFixed(3)})`,
  );

  setInterval(
    () => {
      log(
        'INFO',
        `c.c.${name.replace(/-/g, '')}.job.QuotaSyncJob`,
        `${name} quota sync finished: 0 changed`,
        'pool-1-thread-1',
      );
    },
    envMs('LAB_SCHEDULE_JOB_MS', 10000),
  );

  if (crashAfterStart) {
    setTimeout(
      () => {
        say(
          `#\n# A fatal error has been detected by the Java Runtime Environment:\n#\n#  SIGSEGV (0xb), pid=${process.pid}\n# (lab fault crash-after-start)\n#`,
        );
        process.exit(134);
      },
      envMs('LAB_CRASH_AFTER_MS', 3000),
    );
  }
}
