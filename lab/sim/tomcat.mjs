// Tomcat 7.0.67 simulator, run by java.mjs for `org.apache.catalina.startup.Bootstrap start|stop`.
// It reads the real tree: conf/server.xml (shutdown port, HTTP connector), the context files in
// conf/Catalina/localhost/*.xml (docBase = the application folder, e.g. /home/ecsc), and in each
// application WEB-INF/web.xml (required), WEB-INF/classes/version.properties (what /<app>/version
// reports) and WEB-INF/classes/log4j.properties (the application log, e.g. /home/ecsclog/ecsc.log).
// Container messages go to stdout, which catalina.sh appends to logs/catalina.out.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
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
import { julRecord, log4jLine } from './logformat.mjs';

const TOMCAT = 'Apache Tomcat/7.0.67';

function jul(source, level, message) {
  say(julRecord(hostNow(), source, level, message));
}

/** `-Dkey=value` arguments. Example: systemProperties(['-Dcatalina.base=/x']) -> { 'catalina.base': '/x' }. */
function systemProperties(args) {
  const props = {};
  for (const a of args) {
    const m = /^-D([^=]+)=(.*)$/.exec(a);
    if (m) props[m[1]] = m[2];
  }
  return props;
}

function attributes(tag) {
  const attrs = {};
  for (const m of tag.matchAll(/([\w.:-]+)\s*=\s*"([^"]*)"/g)) attrs[m[1]] = m[2];
  return attrs;
}

/** The parts of server.xml the simulator honours. */
function readServerXml(base) {
  const file = path.join(base, 'conf', 'server.xml');
  const text = readText(file);
  if (text === undefined) {
    jul(
      'org.apache.catalina.startup.Catalina load',
      'WARNING',
      `Unable to load server configuration from [${file}]`,
    );
    process.exit(1);
  }
  const withoutComments = text.replace(/<!--[\s\S]*?-->/g, '');
  const server = attributes(/<Server\b[^>]*>/.exec(withoutComments)?.[0] ?? '');
  const connectorTag = [...withoutComments.matchAll(/<Connector\b[^>]*>/g)]
    .map((m) => attributes(m[0]))
    .find((a) => (a.protocol ?? 'HTTP/1.1').startsWith('HTTP'));
  return {
    shutdownPort: Number(server.port ?? 8005),
    shutdownAddress: server.address ?? 'localhost',
    shutdownCommand: server.shutdown ?? 'SHUTDOWN',
    httpPort: Number(connectorTag?.port ?? 8080),
    httpAddress: connectorTag?.address,
  };
}

function readProperties(file) {
  const props = {};
  for (const line of (readText(file) ?? '').split('\n')) {
    const m = /^\s*([^#!\s][^=:\s]*)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (m) props[m[1]] = m[2];
  }
  return props;
}

/** Deploys the context files of conf/Catalina/localhost; returns the applications that deployed. */
function deployContexts(base, failStart) {
  const dir = path.join(base, 'conf', 'Catalina', 'localhost');
  const apps = [];
  let files = [];
  try {
    files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.xml'))
      .sort();
  } catch {
    // no context descriptors: nothing deployed
  }
  for (const file of files) {
    const descriptor = path.join(dir, file);
    const started = Date.now();
    jul(
      'org.apache.catalina.startup.HostConfig deployDescriptor',
      'INFO',
      `Deploying configuration descriptor ${descriptor}`,
    );
    const context = attributes(/<Context\b[^>]*>/.exec(readText(descriptor) ?? '')?.[0] ?? '');
    const contextPath = `/${file.slice(0, -'.xml'.length)}`;
    const docBase = context.docBase;
    if (!docBase || !fs.existsSync(path.join(docBase, 'WEB-INF', 'web.xml'))) {
      jul(
        'org.apache.catalina.startup.HostConfig deployDescriptor',
        'SEVERE',
        `Error deploying configuration descriptor ${descriptor}\njava.lang.IllegalArgumentException: ` +
          `Document base ${docBase} does not exist or is not a readable directory (no WEB-INF/web.xml)`,
      );
      continue;
    }
    const classes = path.join(docBase, 'WEB-INF', 'classes');
    const info = readProperties(path.join(classes, 'version.properties'));
    const log4j = readProperties(path.join(classes, 'log4j.properties'));
    const logFile = Object.entries(log4j).find(([k]) => /^log4j\.appender\.[^.]+\.File$/.test(k))?.[1];
    const app = {
      contextPath,
      docBase,
      name: info['app.name'] ?? contextPath.slice(1),
      version: info['app.version'] ?? 'unknown',
      build: info['app.build'] ?? 'unknown',
      log: (level, message) => {
        if (logFile)
          appendLine(
            logFile,
            log4jLine(
              hostNow(),
              level,
              'localhost-startStop-1',
              `com.cloud.${contextPath.slice(1)}.web.StartupListener`,
              message,
            ),
          );
      },
    };
    app.log('INFO', 'Root WebApplicationContext: initialization started');
    if (failStart) {
      app.log(
        'ERROR',
        "Context initialization failed: org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'dataSource' (lab fault fail-start)",
      );
      jul('org.apache.catalina.core.StandardContext startInternal', 'SEVERE', 'Error listenerStart');
      jul(
        'org.apache.catalina.core.StandardContext startInternal',
        'SEVERE',
        `Context [${contextPath}] startup failed due to previous errors`,
      );
      jul(
        'org.apache.catalina.startup.Catalina start',
        'SEVERE',
        'Catalina.start: org.apache.catalina.LifecycleException: Failed to start component (lab fault fail-start)',
      );
      process.exit(1);
    }
    app.log('INFO', `${app.name} ${app.version} (build ${app.build}) started on ${os.hostname()}`);
    jul(
      'org.apache.catalina.startup.HostConfig deployDescriptor',
      'INFO',
      `Deployment of configuration descriptor ${descriptor} has finished in ${(Date.now() - started).toLocaleString('en-US')} ms`,
    );
    apps.push(app);
  }
  return apps;
}

const CONTENT_TYPES = {
  '.html': 'text/html; charset=UTF-8',
  '.js': 'application/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.txt': 'text/plain',
};

function handler(apps) {
  return (req, res) => {
    req.resume();
    const send = (status, type, body, headers = {}) => {
      res.writeHead(status, {
        'Content-Type': type,
        'Content-Length': Buffer.byteLength(body),
        Server: 'Apache-Coyote/1.1',
        ...headers,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://tomcat').pathname);
    const app = apps.find((a) => pathname === a.contextPath || pathname.startsWith(`${a.contextPath}/`));
    const notFound = () =>
      send(
        404,
        'text/html;charset=utf-8',
        `<html><head><title>${TOMCAT} - Error report</title></head><body><h1>HTTP Status 404 - ${pathname}</h1></body></html>`,
      );
    if (!app) return notFound();
    if (pathname === app.contextPath) return send(302, 'text/plain', '', { Location: `${app.contextPath}/` });
    const rest = pathname.slice(app.contextPath.length + 1);
    if (rest === 'version')
      return send(200, 'text/plain;charset=UTF-8', `${app.name} ${app.version} (build ${app.build})\n`);
    if (rest === 'health') return send(200, 'text/plain;charset=UTF-8', 'OK\n');
    const relative = rest === '' ? 'index.html' : rest;
    if (/^(WEB-INF|META-INF)(\/|$)/i.test(relative)) return notFound();
    const file = path.resolve(app.docBase, relative);
    if (!file.startsWith(`${path.resolve(app.docBase)}/`)) return notFound();
    // Static files are served from disk on every request, as Tomcat's DefaultServlet does.
    const body = readText(file);
    if (body === undefined) return notFound();
    return send(200, CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', body);
  };
}

function listen(server, port, address) {
  return new Promise((resolve) => {
    server.once('error', (err) => resolve(err));
    server.listen(port, address, () => resolve(undefined));
  });
}

async function start(base, conf) {
  const failStart = fault('fail-start') !== undefined;
  const crashAfterStart = fault('crash-after-start') !== undefined;
  const extraMs = slowStartMs();
  const began = Date.now();
  const protocolHandler = `"http-bio-${conf.httpAddress ? `${conf.httpAddress}-` : ''}${conf.httpPort}"`;
  let apps = [];
  const httpServer = http.createServer((req, res) => handler(apps)(req, res));
  const shutdownServer = net.createServer();

  const stop = (exitCode) => {
    jul('org.apache.coyote.AbstractProtocol pause', 'INFO', `Pausing ProtocolHandler [${protocolHandler}]`);
    jul('org.apache.catalina.core.StandardService stopInternal', 'INFO', 'Stopping service Catalina');
    for (const app of apps) app.log('INFO', `${app.name} ${app.version} stopping`);
    jul('org.apache.coyote.AbstractProtocol stop', 'INFO', `Stopping ProtocolHandler [${protocolHandler}]`);
    jul(
      'org.apache.coyote.AbstractProtocol destroy',
      'INFO',
      `Destroying ProtocolHandler [${protocolHandler}]`,
    );
    httpServer.closeAllConnections?.();
    httpServer.close();
    shutdownServer.close();
    process.exit(exitCode);
  };
  // The JVM runs Tomcat's shutdown hook on SIGTERM and exits 143.
  handleTermination({
    onTerm: () => stop(143),
    onIgnored: (signal) =>
      jul(
        'org.apache.catalina.startup.Catalina$CatalinaShutdownHook run',
        'WARNING',
        `${signal} ignored (lab fault ignore-term)`,
      ),
  });

  jul(
    'org.apache.catalina.core.AprLifecycleListener init',
    'INFO',
    'The APR based Apache Tomcat Native library which allows optimal performance in production environments was not found on the java.library.path: /usr/java/packages/lib/amd64:/usr/lib64:/lib64:/lib:/usr/lib',
  );
  jul('org.apache.coyote.AbstractProtocol init', 'INFO', `Initializing ProtocolHandler [${protocolHandler}]`);
  const bindError = await listen(httpServer, conf.httpPort, conf.httpAddress);
  if (bindError) {
    jul(
      'org.apache.coyote.AbstractProtocol init',
      'SEVERE',
      `Failed to initialize end point associated with ProtocolHandler [${protocolHandler}]\njava.net.BindException: Address already in use ${conf.httpAddress ?? '<null>'}:${conf.httpPort}`,
    );
  }
  await sleep(envMs('LAB_TOMCAT_INIT_MS', 300));
  jul(
    'org.apache.catalina.startup.Catalina load',
    'INFO',
    `Initialization processed in ${Date.now() - began} ms`,
  );
  jul('org.apache.catalina.core.StandardService startInternal', 'INFO', 'Starting service Catalina');
  jul('org.apache.catalina.core.StandardEngine startInternal', 'INFO', `Starting Servlet Engine: ${TOMCAT}`);
  await holdStart((line) => jul('org.apache.catalina.core.StandardEngine startInternal', 'INFO', line));
  await sleep(envMs('LAB_TOMCAT_DEPLOY_MS', 1200) + extraMs);
  apps = deployContexts(base, failStart);
  if (!bindError)
    jul('org.apache.coyote.AbstractProtocol start', 'INFO', `Starting ProtocolHandler [${protocolHandler}]`);
  jul('org.apache.catalina.startup.Catalina start', 'INFO', `Server startup in ${Date.now() - began} ms`);

  // Catalina.await(): only now is the shutdown port bound; a second Tomcat dies here.
  const awaitError = await listen(shutdownServer, conf.shutdownPort, conf.shutdownAddress);
  if (awaitError) {
    jul(
      'org.apache.catalina.core.StandardServer await',
      'SEVERE',
      `StandardServer.await: create[${conf.shutdownAddress}:${conf.shutdownPort}]: \njava.net.BindException: Address already in use`,
    );
    stop(0);
  }
  shutdownServer.on('connection', (socket) => {
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      received += d;
    });
    socket.on('error', () => {});
    socket.on('end', () => {
      if (received.trim() === conf.shutdownCommand) {
        stop(0);
      } else {
        jul(
          'org.apache.catalina.core.StandardServer await',
          'WARNING',
          `StandardServer.await: Invalid command '${received.trim()}' received`,
        );
      }
    });
  });

  if (crashAfterStart) {
    setTimeout(
      () => {
        say(
          `#\n# A fatal error has been detected by the Java Runtime Environment:\n#\n#  SIGSEGV (0xb) at pc=0x00007f3a2c1b5e21, pid=${process.pid}, tid=139888\n#\n` +
            '# JRE version: Java(TM) SE Runtime Environment (7.0_80-b15)\n# Problematic frame:\n# V  [libjvm.so+0x65fe21]\n#\n' +
            '# (lab fault crash-after-start)\n#',
        );
        process.exit(134);
      },
      envMs('LAB_CRASH_AFTER_MS', 3000),
    );
  }
}

function stopServer(conf) {
  return new Promise((resolve) => {
    const socket = net.connect(conf.shutdownPort, conf.shutdownAddress, () => {
      socket.end(conf.shutdownCommand);
    });
    socket.on('close', () => resolve(0));
    socket.on('error', (err) => {
      jul(
        'org.apache.catalina.startup.Catalina stopServer',
        'SEVERE',
        `Could not contact ${conf.shutdownAddress}:${conf.shutdownPort}. Tomcat may not be running.`,
      );
      jul(
        'org.apache.catalina.startup.Catalina stopServer',
        'SEVERE',
        `Catalina.stop: \njava.net.ConnectException: ${err.code === 'ECONNREFUSED' ? 'Connection refused' : err.message}`,
      );
      process.exit(1);
    });
  });
}

/** Entry point from java.mjs. Example: await runTomcat(['-Dcatalina.base=/home/apache-tomcat-7.0.67', ..., 'start']). */
export async function runTomcat(args) {
  const props = systemProperties(args);
  const base = props['catalina.base'] ?? props['catalina.home'];
  if (!base) {
    jul('org.apache.catalina.startup.Bootstrap main', 'SEVERE', 'catalina.base is not set');
    process.exit(1);
  }
  const conf = readServerXml(base);
  const command = args[args.length - 1];
  if (command === 'stop') {
    await stopServer(conf);
    return;
  }
  if (command !== 'start') {
    jul(
      'org.apache.catalina.startup.Bootstrap main',
      'WARNING',
      `Bootstrap: command "${command}" does not exist.`,
    );
    process.exit(1);
  }
  await start(base, conf);
}
