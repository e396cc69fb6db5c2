/**
 * The Comindware lab as the seed 000 end-to-end tests use it (tests only): a fresh lab on the given
 * loopback prefix, the CLI against it, what each node runs and serves, and user + integration
 * traffic through the nginx of the nodes that take traffic.
 * Example: `const lab = comindwareLab('127.0.46'); await lab.fresh(); const run = await lab.apply();`.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { labDown, labUp } from '../../lab/hosts.js';
import { type LoadHandle, type LoadReport, startLoad } from '../../lab/load.js';
import { CMW_VERSIONS, comindwareScenario } from '../../lab/scenarios/comindware.js';
import type { SudoLogin } from '../../lab/sudo-login.js';
import { eventually, relocate, sshPool } from '../../lab/test-support.js';
import { type CliResult, cutover } from '../../test/cli.js';

export const RUNBOOK = resolve(import.meta.dirname, 'runbook.yml');
export const HOSTS = ['web', 'integration', 'backup'] as const;
export type CmwHost = (typeof HOSTS)[number];
export const NGINX = '/etc/nginx/sites-enabled/comindwarecmw';
export const CONFIG = '/usr/share/comindware/configs/instance/cmw.yml';
/** After a run, every nginx answers from its own node, on both locations. */
export const SELF = Object.fromEntries(
  HOSTS.flatMap((h) => [
    [`${h} /`, h],
    [`${h} /async`, h],
  ]),
);

export function comindwareLab(prefix: string, options: { sudoLogin?: SudoLogin } = {}) {
  const scenario = relocate(comindwareScenario, prefix);
  const address = Object.fromEntries(scenario.hosts.map((h) => [h.name, h.address])) as Record<
    CmwHost,
    string
  >;
  const labDir = mkdtempSync(join(tmpdir(), 'cutover-e2e-cmw-'));
  let ssh: ReturnType<typeof sshPool> | undefined;
  let inventory = '';
  let password = '';
  let distrUrl = '';
  let stateDir = '';

  const lab = {
    labDir,
    address,
    get ssh() {
      return ssh as ReturnType<typeof sshPool>;
    },
    get stateDir() {
      return stateDir;
    },
    /** A fresh lab and state folder, every platform running the installed version. */
    async fresh(): Promise<void> {
      await ssh?.close();
      await labDown({ labDir, purge: true }).catch(() => undefined);
      const up = await labUp({
        scenario,
        labDir,
        ...(options.sudoLogin ? { sudoLogin: options.sudoLogin } : {}),
      });
      inventory = up.inventory;
      password = readFileSync(join(labDir, 'secrets', 'distr_password'), 'utf8').trim();
      distrUrl = String(up.controller?.info.artifactServer);
      ssh = sshPool(labDir);
      stateDir = mkdtempSync(join(tmpdir(), 'cutover-e2e-state-'));
      for (const host of HOSTS)
        await eventually(
          async () =>
            (await lab.version(host).catch(() => undefined))?.state === 'running' ? true : undefined,
          60_000,
          `${host}'s platform to run`,
        );
    },
    async down(): Promise<void> {
      await ssh?.close();
      await labDown({ labDir, purge: true });
    },
    /** `cutover apply` of the runbook to `target`, gates approved, with the distribution password. */
    apply(
      target: string = CMW_VERSIONS.holdLock,
      runbook = RUNBOOK,
      extra: { onSpawn?: (pid: number) => void; inventory?: string; env?: Record<string, string> } = {},
    ): Promise<CliResult> {
      return lab.cli(
        [
          'apply',
          '-r',
          runbook,
          '-i',
          extra.inventory ?? inventory,
          '-p',
          `version=${target}`,
          '-p',
          `distr_url=${distrUrl}`,
          '--yes',
          '--approve-gates',
        ],
        extra,
      );
    },
    /** Any other command, with this lab's state folder and the distribution password. */
    cli(
      args: string[],
      extra: { onSpawn?: (pid: number) => void; env?: Record<string, string> } = {},
    ): Promise<CliResult> {
      const { env, onSpawn } = extra;
      return cutover(['--state-dir', stateDir, ...args], {
        env: { CMW_DISTR_PASSWORD: password, ...env },
        ...(onSpawn ? { onSpawn } : {}),
      });
    },
    async version(host: CmwHost): Promise<{ version: string; state: string }> {
      const res = await fetch(`http://${address[host]}:8080/api/version`);
      return (await res.json()) as { version: string; state: string };
    },
    /** Which node answers a request to each host's nginx, per location. */
    async answeringNodes(): Promise<Record<string, string>> {
      const out: Record<string, string> = {};
      for (const h of HOSTS)
        for (const loc of ['/', '/async']) {
          const res = await fetch(`http://${address[h]}${loc}`);
          await res.arrayBuffer();
          out[`${h} ${loc}`] = res.headers.get('x-cmw-node') ?? '?';
        }
      return out;
    },
    /** User and integration traffic on both locations of web and integration (backup takes none, as in the seed). */
    load(): LoadHandle {
      return startLoad({
        targets: (['web', 'integration'] as const).flatMap((h) => [
          { name: `${h} /`, url: `http://${address[h]}/` },
          { name: `${h} /async`, url: `http://${address[h]}/async` },
        ]),
        ratePerSecond: 15,
        durationMs: 600_000,
      });
    },
  };
  return lab;
}

/** Every target got traffic and nothing failed. */
export function expectNoFailures(report: LoadReport): void {
  for (const t of report.targets) expect(t.sent, t.name).toBeGreaterThan(10);
  expect(report.targets.flatMap((t) => t.failures)).toEqual([]);
  expect(report.total.failed).toBe(0);
}
