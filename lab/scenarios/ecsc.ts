/**
 * The ecsc lab (seed 004): four services on two nodes each. ecsc and ecmc are web applications
 * in a Tomcat 7 (`/home/apache-tomcat-7.0.67`, application tree `/home/<svc>`); schedule and
 * schedule-res are Spring Boot jars started with `nohup sh startup.sh &` in `/home/<svc>`.
 * Every host also runs a monitoring agent, so `ps -ef | grep java` shows two java processes.
 * The processes are lab/sim/java.mjs under java's name; lab/sim/README.md has the details.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LabHostSpec, Scenario, ScenarioContext } from '../scenario.js';
import { julRecord, log4jLine, springLine } from '../sim/logformat.mjs';
import { claimFirstInstall } from './comindware.js';

const execFileAsync = promisify(execFile);

/** The services of the seed, in its order. Example: ECSC_SERVICES[3] -> 'schedule-res'. */
export const ECSC_SERVICES = ['ecsc', 'ecmc', 'schedule', 'schedule-res'] as const;
/** One service of the seed. Example: 'ecmc'. */
export type EcscService = (typeof ECSC_SERVICES)[number];

/** One release of a service. Example: `{ version: '2.4.1', build: '20170324' }`. */
export interface EcscRelease {
  version: string;
  build: string;
}

/** What runs at boot (old) and what `<svc>.tar` holds (new). Example: ECSC_VERSIONS.ecsc.new.version -> '2.4.1'. */
export const ECSC_VERSIONS: Record<EcscService, { old: EcscRelease; new: EcscRelease }> = {
  ecsc: { old: { version: '2.4.0', build: '20170320' }, new: { version: '2.4.1', build: '20170324' } },
  ecmc: { old: { version: '2.4.0', build: '20170320' }, new: { version: '2.4.1', build: '20170324' } },
  schedule: { old: { version: '1.6.2', build: '20170320' }, new: { version: '1.6.3', build: '20170324' } },
  'schedule-res': {
    old: { version: '1.6.2', build: '20170320' },
    new: { version: '1.6.3', build: '20170324' },
  },
};

/** The seed's Tomcat. */
export const TOMCAT_HOME = '/home/apache-tomcat-7.0.67';
const TOMCAT_JDK = '/opt/jdk1.7.0_80';
const JDK8 = '/opt/jdk1.8.0_121';

/** Tomcat web applications (the others are Spring Boot jars). Example: isTomcatService('ecmc') -> true. */
export function isTomcatService(service: EcscService): boolean {
  return service === 'ecsc' || service === 'ecmc';
}

/** The service's application log, as in the seed. Example: serviceLog('schedule-res') -> '/home/schedulereslog/scheduleres.log'. */
export function serviceLog(service: EcscService): string {
  const name = service.replace('-', '');
  return `/home/${name}log/${name}.log`;
}

const hosts: LabHostSpec[] = ECSC_SERVICES.flatMap((service, i) =>
  [1, 2].map((node) => ({
    name: `${service}-${node}`,
    address: `127.0.10.${21 + i * 2 + node - 1}`,
    roles: [service],
    vars: {
      service,
      node,
      version_old: ECSC_VERSIONS[service].old.version,
      version_new: ECSC_VERSIONS[service].new.version,
    },
  })),
);

type Tree = Record<string, { text: string; mode?: number }>;

function manifest(service: EcscService, release: EcscRelease): string {
  const main = service === 'schedule' ? 'ScheduleApplication' : 'ScheduleResApplication';
  return [
    'Manifest-Version: 1.0',
    `Implementation-Title: ${service}`,
    `Implementation-Version: ${release.version}`,
    `Build-Date: ${release.build}`,
    'Main-Class: org.springframework.boot.loader.JarLauncher',
    `Start-Class: com.cloud.${service.replace('-', '')}.${main}`,
    'Spring-Boot-Version: 1.5.2.RELEASE',
    'Lab-Simulator: scheduler',
    '',
  ].join('\n');
}

/**
 * The files of a service's application tree in one release, relative to /home, exactly what
 * `<svc>.tar` holds (node-local files are not in it). Example: serviceTree('ecsc', rel)['ecsc/WEB-INF/web.xml'].
 */
export function serviceTree(service: EcscService, release: EcscRelease): Tree {
  const { version, build } = release;
  if (isTomcatService(service)) {
    const title = service === 'ecsc' ? '云服务控制台' : '云管理控制台';
    return {
      [`${service}/index.html`]: {
        text: `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>${title}</title>
<link rel="stylesheet" href="css/app.css?t=${build}">
</head>
<body>
<div id="app"></div>
<script src="js/app.js?t=${build}"></script>
<script src="js/disk-detail.js?t=${build}"></script>
</body>
</html>
`,
      },
      [`${service}/js/app.js`]: {
        text: `/* ${service} ${version} (${build}) */\nwindow.APP_VERSION = '${version}';\n`,
      },
      [`${service}/js/disk-detail.js`]: {
        text: `/* ${service} ${version} (${build}): cloud disk detail page, "create disk from snapshot" purchase page */\n`,
      },
      [`${service}/css/app.css`]: { text: `/* ${service} ${version} */\nbody { margin: 0; }\n` },
      [`${service}/WEB-INF/web.xml`]: {
        text: `<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="http://java.sun.com/xml/ns/javaee" version="3.0">
  <display-name>${service}</display-name>
  <listener>
    <listener-class>com.cloud.${service}.web.StartupListener</listener-class>
  </listener>
  <welcome-file-list>
    <welcome-file>index.html</welcome-file>
  </welcome-file-list>
</web-app>
`,
      },
      [`${service}/WEB-INF/classes/version.properties`]: {
        text: `app.name=${service}\napp.version=${version}\napp.build=${build}\n`,
      },
      [`${service}/WEB-INF/classes/log4j.properties`]: {
        text: `log4j.rootLogger=INFO, R
log4j.appender.R=org.apache.log4j.DailyRollingFileAppender
log4j.appender.R.File=${serviceLog(service)}
log4j.appender.R.layout=org.apache.log4j.PatternLayout
log4j.appender.R.layout.ConversionPattern=%d %-5p [%t] %c - %m%n
`,
      },
      [`${service}/WEB-INF/classes/application.properties`]: {
        text: `# ${service} settings\njdbc.url=jdbc:mysql://db.cloud.local:3306/${service}?useUnicode=true&characterEncoding=utf8\nsession.timeout=1800\n`,
      },
      [`${service}/WEB-INF/lib/${service}-core.jar`]: {
        text: `Implementation-Title: ${service}-core\nImplementation-Version: ${version}\n`,
      },
    };
  }
  const jar = `lib/${service}-${version}.jar`;
  return {
    [`${service}/startup.sh`]: {
      mode: 0o755,
      text: `#!/bin/sh
# ${service} ${version}: run from /home/${service} with: nohup sh startup.sh &
JAVA_HOME=${JDK8}
"$JAVA_HOME/bin/java" -Xms256m -Xmx512m -Dfile.encoding=UTF-8 -jar ${jar} --spring.config.location=conf/application.properties
`,
    },
    [`${service}/${jar}`]: { text: manifest(service, release) },
    [`${service}/conf/application.properties`]: {
      text: `spring.application.name=${service}
server.port=8080
logging.file=${serviceLog(service)}
# quartz
job.quotaSync.cron=0/30 * * * * ?
`,
    },
  };
}

/** Node-local files of a service (not shipped in the tar). Example: nodeLocalTree('schedule', host). */
function nodeLocalTree(service: EcscService, host: LabHostSpec): Tree {
  if (isTomcatService(service)) return {};
  return {
    [`${service}/config/application.properties`]: {
      text: `# node ${host.name}\nserver.address=${host.address}\n`,
    },
  };
}

function serverXml(host: LabHostSpec): string {
  return `<?xml version='1.0' encoding='utf-8'?>
<!-- Tomcat 7.0.67 on ${host.name}: both ports bound to this node's address only. -->
<Server port="8005" address="${host.address}" shutdown="SHUTDOWN">
  <Listener className="org.apache.catalina.startup.VersionLoggerListener" />
  <Listener className="org.apache.catalina.core.AprLifecycleListener" SSLEngine="on" />
  <Listener className="org.apache.catalina.core.JreMemoryLeakPreventionListener" />
  <Listener className="org.apache.catalina.mbeans.GlobalResourcesLifecycleListener" />
  <Listener className="org.apache.catalina.core.ThreadLocalLeakPreventionListener" />

  <Service name="Catalina">
    <!--
    <Connector port="8443" protocol="org.apache.coyote.http11.Http11Protocol" SSLEnabled="true" />
    -->
    <Connector port="8080" address="${host.address}" protocol="HTTP/1.1"
               connectionTimeout="20000" redirectPort="8443" URIEncoding="UTF-8" />

    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false">
        <Valve className="org.apache.catalina.valves.AccessLogValve" directory="logs"
               prefix="localhost_access_log." suffix=".txt" pattern="%h %l %u %t &quot;%r&quot; %s %b" />
      </Host>
    </Engine>
  </Service>
</Server>
`;
}

async function tomcatTree(service: EcscService, host: LabHostSpec, templates: string): Promise<Tree> {
  const home = TOMCAT_HOME.slice('/home/'.length);
  const copy = async (rel: string, mode: number) => ({
    text: await fs.readFile(path.join(templates, 'tomcat-dist', rel), 'utf8'),
    mode,
  });
  return {
    [`${home}/bin/startup.sh`]: await copy('bin/startup.sh', 0o755),
    [`${home}/bin/shutdown.sh`]: await copy('bin/shutdown.sh', 0o755),
    [`${home}/bin/catalina.sh`]: await copy('bin/catalina.sh', 0o755),
    [`${home}/bin/setenv.sh`]: await copy('bin/setenv.sh', 0o644),
    [`${home}/bin/bootstrap.jar`]: { text: 'Main-Class: org.apache.catalina.startup.Bootstrap\n' },
    [`${home}/bin/tomcat-juli.jar`]: { text: 'Implementation-Title: tomcat-juli\n' },
    [`${home}/lib/catalina.jar`]: { text: 'Implementation-Version: 7.0.67\n' },
    [`${home}/conf/logging.properties`]: await copy('conf/logging.properties', 0o644),
    [`${home}/conf/server.xml`]: { text: serverXml(host) },
    [`${home}/conf/Catalina/localhost/${service}.xml`]: {
      text: `<?xml version="1.0" encoding="UTF-8"?>\n<Context docBase="/home/${service}" reloadable="false" />\n`,
    },
  };
}

/**
 * Earlier starts today and yesterday in the service's logs, so `tail | grep 'Server startup'`
 * or `grep Started` finds a stale line at once. Example: history('ecsc', new Date()) -> { 'ecsclog/ecsc.log': '...' }.
 */
export function ecscHistory(service: EcscService, now: Date, hostName: string): Record<string, string> {
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  // Yesterday 10:00, and (unless the day is less than a minute old) a start earlier today.
  const todaySpan = now.getTime() - midnight.getTime() - 60_000;
  const starts = [new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1, 10)];
  if (todaySpan > 0) starts.push(new Date(midnight.getTime() + Math.floor(todaySpan * 0.3)));
  const release = ECSC_VERSIONS[service].old;
  const appLog = serviceLog(service).slice('/home/'.length);
  const files: Record<string, string[]> = {};
  const add = (file: string, line: string) => {
    files[file] ??= [];
    files[file].push(line);
  };
  for (const start of starts) {
    const t = (ms: number) => new Date(start.getTime() + ms);
    if (isTomcatService(service)) {
      const out = `${TOMCAT_HOME.slice('/home/'.length)}/logs/catalina.out`;
      add(
        out,
        julRecord(
          t(0),
          'org.apache.catalina.core.StandardService startInternal',
          'INFO',
          'Starting service Catalina',
        ),
      );
      add(
        out,
        julRecord(
          t(10),
          'org.apache.catalina.core.StandardEngine startInternal',
          'INFO',
          'Starting Servlet Engine: Apache Tomcat/7.0.67',
        ),
      );
      add(
        out,
        julRecord(t(2300), 'org.apache.catalina.startup.Catalina start', 'INFO', 'Server startup in 2315 ms'),
      );
      add(
        appLog,
        log4jLine(
          t(1200),
          'INFO',
          'localhost-startStop-1',
          `com.cloud.${service}.web.StartupListener`,
          `${service} ${release.version} (build ${release.build}) started on ${hostName}`,
        ),
      );
    } else {
      const main = `c.c.s.${service === 'schedule' ? 'ScheduleApplication' : 'ScheduleResApplication'}`;
      add(
        appLog,
        springLine(
          t(0),
          'INFO',
          2817,
          'main',
          main,
          `Starting ${main.split('.').pop()} v${release.version} on ${hostName} with PID 2817`,
        ),
      );
      add(
        appLog,
        springLine(
          t(6100),
          'INFO',
          2817,
          'main',
          's.b.c.e.t.TomcatEmbeddedServletContainer',
          'Tomcat started on port(s): 8080 (http)',
        ),
      );
      add(
        appLog,
        springLine(
          t(6200),
          'INFO',
          2817,
          'main',
          main,
          `Started ${main.split('.').pop()} in 6.204 seconds (JVM running for 6.9)`,
        ),
      );
    }
  }
  return Object.fromEntries(Object.entries(files).map(([file, lines]) => [file, `${lines.join('\n')}\n`]));
}

async function writeTree(base: string, tree: Tree): Promise<void> {
  for (const [rel, { text, mode }] of Object.entries(tree)) {
    const file = path.join(base, rel);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, text);
    await fs.chmod(file, mode ?? 0o644);
  }
}

async function populate(root: string, host: LabHostSpec, ctx: ScenarioContext): Promise<void> {
  const service = host.vars.service as EcscService;
  if (!ECSC_SERVICES.includes(service))
    throw new Error(`ecsc lab host ${host.name}: vars.service must be one of ${ECSC_SERVICES.join(', ')}`);
  if (!(await claimFirstInstall(root, 'ecsc'))) return;
  const sim = path.join(ctx.labSourceDir, 'sim');
  const javaWrapper = await fs.readFile(path.join(sim, 'host-dist', 'java'), 'utf8');
  const home = path.join(root, 'home');
  await writeTree(path.join(root, 'opt'), {
    [`${TOMCAT_JDK.slice('/opt/'.length)}/bin/java`]: { text: javaWrapper, mode: 0o755 },
    [`${JDK8.slice('/opt/'.length)}/bin/java`]: { text: javaWrapper, mode: 0o755 },
    'cloudmonitor/bin/agent.sh': {
      text: await fs.readFile(path.join(sim, 'host-dist', 'agent.sh'), 'utf8'),
      mode: 0o755,
    },
    'cloudmonitor/lib/cloudmonitor-agent-3.1.7.jar': {
      text: 'Implementation-Title: cloudmonitor-agent\nImplementation-Version: 3.1.7\n',
    },
    'cloudmonitor/conf/agent.properties': {
      text: `agent.host=${host.name}\nagent.push.url=http://monitor.cloud.local:8086/push\n`,
    },
  });
  await writeTree(path.join(root, 'etc'), {
    'profile.d/java.sh': { text: `export JAVA_HOME=${JDK8}\nexport PATH="$JAVA_HOME/bin:$PATH"\n` },
  });
  await writeTree(home, {
    ...serviceTree(service, ECSC_VERSIONS[service].old),
    ...nodeLocalTree(service, host),
  });
  if (isTomcatService(service)) {
    await writeTree(home, await tomcatTree(service, host, sim));
    for (const dir of ['temp', 'webapps', 'work', 'logs']) {
      await fs.mkdir(path.join(home, TOMCAT_HOME.slice('/home/'.length), dir), { recursive: true });
    }
  }
  for (const [rel, text] of Object.entries(ecscHistory(service, new Date(), host.name))) {
    await writeTree(home, { [rel]: { text } });
  }
}

/** Where `<svc>.tar` files are built on the controller. Example: '<labDir>/artifacts/ecsc'. */
export function ecscArtifactDir(ctx: Pick<ScenarioContext, 'labDir'>): string {
  return path.join(ctx.labDir, 'artifacts', 'ecsc');
}

/**
 * Builds `<svc>.tar` (the new release's `<svc>/...` tree, as `tar xvf <svc>.tar` in /home expects)
 * unless it exists. Example: await buildServiceTar(ctx, 'ecsc') -> '<labDir>/artifacts/ecsc/ecsc.tar'.
 */
export async function buildServiceTar(
  ctx: Pick<ScenarioContext, 'labDir'>,
  service: EcscService,
): Promise<string> {
  const tar = path.join(ecscArtifactDir(ctx), `${service}.tar`);
  if (await fs.stat(tar).catch(() => undefined)) return tar;
  await fs.mkdir(path.dirname(tar), { recursive: true });
  const staging = await fs.mkdtemp(path.join(ctx.labDir, '.build-'));
  try {
    await writeTree(staging, serviceTree(service, ECSC_VERSIONS[service].new));
    await execFileAsync('tar', ['-cf', `${tar}.part`, '--owner=0', '--group=0', '-C', staging, service]);
    await fs.rename(`${tar}.part`, tar);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  return tar;
}

/** How the seed's operators start a host's processes (the monitoring agent first). Example: ecscBoot(host). */
function boot(host: LabHostSpec): string[] {
  const service = host.vars.service as EcscService;
  const start = isTomcatService(service)
    ? `${TOMCAT_HOME}/bin/startup.sh`
    : // The seed's `nohup sh startup.sh &`; without a terminal nohup would not redirect, so say where.
      `cd /home/${service} && nohup sh startup.sh >>nohup.out 2>&1 </dev/null &`;
  return ['/opt/cloudmonitor/bin/agent.sh start', start];
}

/**
 * The ecsc scenario. Example: `cutover lab up ecsc`, then
 * `ssh -F .lab/ecsc/ssh_config ecsc-1 'ps -ef | grep java'`.
 */
export const ecscScenario: Scenario = {
  name: 'ecsc',
  hosts,
  sharedStorage: false,
  populate,
  boot,
  async startController(ctx) {
    const tars: Record<string, string> = {};
    for (const service of ECSC_SERVICES) tars[`${service}Tar`] = await buildServiceTar(ctx, service);
    return { info: { artifactDir: ecscArtifactDir(ctx), ...tars }, pids: [] };
  },
  inventoryVars: (ctx) => ({
    artifact_dir: ecscArtifactDir(ctx),
    tomcat_home: TOMCAT_HOME,
    versions: Object.fromEntries(
      ECSC_SERVICES.map((s) => [s, { old: ECSC_VERSIONS[s].old.version, new: ECSC_VERSIONS[s].new.version }]),
    ),
  }),
};

/** The balancer's frontend port of each service (`http://lb:<port>/...`). Example: ECSC_LB_PORTS.ecmc -> 8082. */
export const ECSC_LB_PORTS: Record<EcscService, number> = {
  ecsc: 8081,
  ecmc: 8082,
  schedule: 8083,
  'schedule-res': 8084,
};

/** What each service answers its version on (the balancer's health check and the load's target). */
export function ecscVersionPath(service: EcscService): string {
  return isTomcatService(service) ? `/${service}/version` : '/version';
}

/** The balancer's admin socket (HAProxy runtime API). */
export const ECSC_LB_SOCKET = '/run/haproxy/admin.sock';

/**
 * HAProxy in front of the ecsc nodes: one frontend and backend per service, each node a server
 * under its inventory name, health-checked on its version page. Servers and the bind address are
 * host names, resolved through the host's /etc/hosts when HAProxy starts (so a relocated lab works).
 */
export function ecscHaproxyConfig(self = 'lb'): string {
  const out = [
    '# HAProxy of the ecsc lab, written by `cutover lab up --scenario ecsc --balancer`.',
    'global',
    `  stats socket ${ECSC_LB_SOCKET} mode 600 level admin`,
    '  pidfile /run/haproxy.pid',
    '  daemon',
    '',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  retries 3',
    '  option redispatch',
    '',
  ];
  for (const service of ECSC_SERVICES) {
    out.push(
      `frontend ${service}`,
      `  bind ${self}:${ECSC_LB_PORTS[service]}`,
      `  default_backend ${service}`,
      '',
      `backend ${service}`,
      `  option httpchk GET ${ecscVersionPath(service)}`,
      '  default-server inter 300ms fall 2 rise 1',
      ...[1, 2].map((n) => `  server ${service}-${n} ${service}-${n}:8080 check`),
      '',
    );
  }
  return out.join('\n');
}

/** The nginx balancer's frontend port of each service. Example: ECSC_NGINX_LB_PORTS.ecmc -> 8092. */
export const ECSC_NGINX_LB_PORTS: Record<EcscService, number> = {
  ecsc: 8091,
  ecmc: 8092,
  schedule: 8093,
  'schedule-res': 8094,
};

/** Where the nginx balancer keeps its upstreams. */
export const ECSC_NGINX_LB_CONFIG = '/etc/nginx/conf.d/lb.conf';

/**
 * nginx as the other kind of balancer: one upstream per service (its nodes by name, resolved from
 * /etc/hosts when nginx loads the file) and one server per service on its own port. A node that
 * refuses a connection is skipped for the next (proxy_next_upstream's default), as HAProxy's redispatch.
 */
export function ecscNginxLbConfig(): string {
  const out = ['# nginx balancer of the ecsc lab, written by `cutover lab up --scenario ecsc --balancer`.'];
  for (const service of ECSC_SERVICES) {
    out.push(
      `upstream ${service} {`,
      ...[1, 2].map((n) => `    server ${service}-${n}:8080;`),
      '}',
      'server {',
      `    listen lb-nginx:${ECSC_NGINX_LB_PORTS[service]};`,
      `    location / { proxy_pass http://${service}; }`,
      '}',
    );
  }
  return `${out.join('\n')}\n`;
}

const lbHost: LabHostSpec = { name: 'lb', address: '127.0.10.30', roles: ['lb'], vars: {} };
/** The second HAProxy of an HA pair (as with keepalived): every drain updates both. */
const lbPeer: LabHostSpec = { name: 'lb-2', address: '127.0.10.32', roles: ['lb'], vars: {} };
const nginxLbHost: LabHostSpec = { name: 'lb-nginx', address: '127.0.10.31', roles: ['lb-nginx'], vars: {} };

/**
 * The ecsc scenario with balancers in front of the node pairs (issue 17): an HAProxy pair on hosts
 * `lb` and `lb-2` (ports 8081-8084) and nginx on host `lb-nginx` (ports 8091-8094):
 * `cutover lab up --scenario ecsc --balancer`. The balancer is not upgraded; runbooks take nodes
 * out of rotation there (`balancer: { haproxy: ... }`).
 */
export const ecscBalancedScenario: Scenario = {
  ...ecscScenario,
  hosts: [...hosts, lbHost, lbPeer, nginxLbHost],
  async populate(root, host, ctx) {
    if (host.roles.includes('lb'))
      await writeTree(path.join(root, 'etc'), {
        'haproxy/haproxy.cfg': { text: ecscHaproxyConfig(host.name) },
      });
    else if (host.name === nginxLbHost.name)
      await writeTree(root, { [ECSC_NGINX_LB_CONFIG.slice(1)]: { text: ecscNginxLbConfig() } });
    else await populate(root, host, ctx);
  },
  boot(host) {
    if (host.roles.includes('lb')) return ['mkdir -p /run/haproxy', 'haproxy -f /etc/haproxy/haproxy.cfg'];
    if (host.name === nginxLbHost.name) return ['systemctl start nginx'];
    return boot(host);
  },
};
