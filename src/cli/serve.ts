import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { isLoopback, startDashboard } from '../ui/dashboard/server.js';
import { openShared } from './shared-run.js';
import { type GlobalOptions, stateDir } from './state.js';

/** `cutover serve`: the live dashboard of the runs in the state folder. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'live dashboard of the runs in the state folder, or with --state of every controller (timeline, per-host log tail, approve gates, abort); 127.0.0.1 by default',
    )
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8717')
    .option('--host <address>', 'address to bind; anything but loopback requires --token', '127.0.0.1')
    .option('--token <token>', 'require this token on every request (or set $CUTOVER_SERVE_TOKEN)')
    .action(async (opts: { port: string; host: string; token?: string }, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError(`--port ${opts.port}: expected a port number 0-65535`, 'Example: --port 8717');
      const token = opts.token ?? process.env.CUTOVER_SERVE_TOKEN;
      if (!isLoopback(opts.host) && !token)
        throw new UsageError(
          `--host ${opts.host} is reachable from other machines, and anyone reaching the dashboard can approve gates and abort runs`,
          'Pass --token <long random string> (or $CUTOVER_SERVE_TOKEN) and open the URL with ?token=…, or bind 127.0.0.1 and use an SSH tunnel.',
        );
      if (token !== undefined && token.length < 16)
        throw new UsageError(
          '--token is too short: use at least 16 characters',
          'Example: --token "$(openssl rand -hex 16)"',
        );
      // With a shared state: every controller's runs, pushed as they happen (exit 7 if unreachable).
      const shared = await openShared(global);
      const source = shared ? (await import('../ui/dashboard/source.js')).sharedSource(shared) : undefined;
      const where = source ? source.where : `state folder ${stateDir(global)}`;
      const dashboard = await startDashboard({
        stateDir: stateDir(global),
        ...(source ? { source } : {}),
        host: opts.host,
        port,
        ...(token ? { token } : {}),
      }).catch(async (e: NodeJS.ErrnoException) => {
        await source?.close();
        throw new UsageError(
          `cannot listen on ${opts.host}:${port}: ${e.code ?? e.message}`,
          e.code === 'EADDRINUSE'
            ? 'Another process uses that port: pick another with --port.'
            : 'Check --host and --port.',
        );
      });
      // The token is the operator's own secret: name where it goes, never print it.
      process.stdout.write(
        `cutover dashboard on ${dashboard.url}${token ? '?token=<your token>' : ''} (${where}); Ctrl-C to stop\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void dashboard.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
