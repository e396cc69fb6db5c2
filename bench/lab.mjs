// Benchmark of the lab's cost: how long `lab up` and `lab down` take for the comindware scenario
// (cold: a new lab folder; warm: keys, artifacts and host trees kept from an earlier up), how long
// until its nginx answers 200 on `/` and `/async`; the same for the ecsc scenario (cold), until
// every service answers its version; and how `up` scales with plain hosts.
// Needs root. Usage: node bench/lab.mjs [--runs 5] [--prefix 127.0.50]
//   --prefix moves the hosts to other loopback addresses (last octet kept), e.g. when a lab is
//   already up on 127.0.10.x; the cost is the same.
// Prints a Markdown table for bench/README.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const runs = Number(arg('--runs', '5'));
const prefix = arg('--prefix', undefined);

const here = path.dirname(fileURLToPath(import.meta.url));
const { labUp, labDown } = await tsImport(path.join(here, '../lab/hosts.ts'), import.meta.url);
const { scenarios, makeScenario } = await tsImport(
  path.join(here, '../lab/scenarios/index.ts'),
  import.meta.url,
);

const relocate = (scenario) =>
  prefix
    ? {
        ...scenario,
        hosts: scenario.hosts.map((h) => ({ ...h, address: `${prefix}.${h.address.split('.')[3]}` })),
      }
    : scenario;

function status(url) {
  return new Promise((resolve) => {
    http
      .get(url, { agent: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', () => resolve(0))
      .on('timeout', function () {
        this.destroy();
      });
  });
}

async function until200(urls, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    while ((await status(url)) !== 200) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs}ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const samples = {};
const record = (what, ms) => {
  samples[what] ??= [];
  samples[what].push(ms);
};
const time = async (fn) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

const cmw = relocate(scenarios.comindware);
const web = cmw.hosts.find((h) => h.roles.includes('web'));
const integration = cmw.hosts.find((h) => h.roles.includes('integration'));
const urls = [`http://${web.address}/`, `http://${integration.address}/async`];

for (let i = 0; i < runs; i++) {
  const labDir = fs.mkdtempSync('/tmp/cutover-bench-lab-');
  try {
    const t0 = performance.now();
    await labUp({ scenario: cmw, labDir });
    record('comindware: `lab up`, new lab folder (3 hosts, keys, artifacts)', performance.now() - t0);
    await until200(urls);
    record('comindware: new lab folder until `/` and `/async` answer 200', performance.now() - t0);
    record('comindware: `lab down`', await time(() => labDown({ labDir })));
    const t1 = performance.now();
    await labUp({ scenario: cmw, labDir });
    record('comindware: `lab up` again (folder kept)', performance.now() - t1);
    await until200(urls);
    record('comindware: again, until `/` and `/async` answer 200', performance.now() - t1);
    await labDown({ labDir });
  } finally {
    await labDown({ labDir }).catch(() => {});
    fs.rmSync(labDir, { recursive: true, force: true });
  }
}

// ecsc: eight hosts, each a Tomcat-like or nohup'd java service answering its version on :8080.
const ecsc = relocate(scenarios.ecsc);
const ecscUrls = ecsc.hosts.map((h) => {
  const svc = String(h.vars.service);
  return `http://${h.address}:8080${svc === 'ecsc' || svc === 'ecmc' ? `/${svc}/version` : '/version'}`;
});
for (let i = 0; i < runs; i++) {
  const labDir = fs.mkdtempSync('/tmp/cutover-bench-lab-');
  try {
    const t0 = performance.now();
    await labUp({ scenario: ecsc, labDir });
    record('ecsc: `lab up`, new lab folder (8 hosts, keys, artifacts)', performance.now() - t0);
    await until200(ecscUrls);
    record('ecsc: new lab folder until every service answers its version', performance.now() - t0);
    record('ecsc: `lab down`', await time(() => labDown({ labDir })));
  } finally {
    await labDown({ labDir }).catch(() => {});
    fs.rmSync(labDir, { recursive: true, force: true });
  }
}

for (const hosts of [1, 10]) {
  for (let i = 0; i < runs; i++) {
    const labDir = fs.mkdtempSync('/tmp/cutover-bench-lab-');
    try {
      const scenario = makeScenario('plain', { hosts, firstAddress: `${prefix ?? '127.0.10'}.10` });
      record(
        `plain, ${hosts} host${hosts === 1 ? '' : 's'}: \`lab up\`, new lab folder`,
        await time(() => labUp({ scenario, labDir })),
      );
      record(
        `plain, ${hosts} host${hosts === 1 ? '' : 's'}: \`lab down\``,
        await time(() => labDown({ labDir })),
      );
    } finally {
      await labDown({ labDir }).catch(() => {});
      fs.rmSync(labDir, { recursive: true, force: true });
    }
  }
}

const fmt = (ms) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const machine = `${os.cpus().length} × ${cpu.replace(/\s+/g, ' ').trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, ${execFileSync('df', ['--output=fstype', '/tmp']).toString().split('\n')[1]?.trim()} /tmp`;
console.log(`| what | median | min–max | runs | machine |`);
console.log(`|---|---|---|---|---|`);
for (const [what, xs] of Object.entries(samples)) {
  console.log(
    `| ${what} | ${fmt(median(xs))} | ${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))} | ${xs.length} | ${machine} |`,
  );
}
