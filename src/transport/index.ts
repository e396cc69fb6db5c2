import type { Host } from '../inventory/model.js';
import { LocalTransport, type LocalTransportOptions } from './local.js';
import { SshTransport, type SshTransportOptions } from './ssh.js';
import type { HostAddress, Session, Transport } from './transport.js';

export { TransportError } from './errors.js';
export { LocalTransport, type LocalTransportOptions } from './local.js';
export type { ShellOptions } from './protocol.js';
export {
  type RecordedCall,
  type RecordedExec,
  type RecordedGet,
  type RecordedPut,
  RecordingTransport,
  type RecordingOptions,
  type Reply,
  type ScriptMatcher,
} from './recording.js';
export { SshTransport, type SshTransportOptions } from './ssh.js';
export {
  type ConnectionSource,
  describeConnection,
  type ResolvedConnection,
  type ResolveOptions,
  resolveConnections,
  sshArgsFor,
} from './ssh-config.js';
export type { ExecOptions, ExecResult, HostAddress, Session, Transport } from './transport.js';

/** Options for both real transports. Example: `{ ssh: { connectTimeoutSec: 10 }, local: { killGraceMs: 500 } }`. */
export interface TransportOptions {
  ssh?: SshTransportOptions;
  local?: LocalTransportOptions;
}

/**
 * A new transport of the kind the host asks for: `local` for the controller itself, otherwise
 * ssh. The caller closes it. Example: `const t = createTransport(host); const s = await t.connect(host);`.
 */
export function createTransport(host: Pick<Host, 'transport'>, options: TransportOptions = {}): Transport {
  return host.transport === 'local' ? new LocalTransport(options.local) : new SshTransport(options.ssh);
}

/**
 * One transport for a whole inventory: routes each host by its `transport` field to one shared
 * SshTransport (so each host keeps one ControlMaster) or LocalTransport, and closes both.
 * Example: `const hosts = new InventoryTransport(); engine({ connect: (h) => hosts.connect(h) }); … await hosts.close();`
 */
export class InventoryTransport implements Transport {
  #ssh: SshTransport | undefined;
  #local: LocalTransport | undefined;
  constructor(private readonly options: TransportOptions = {}) {}

  connect(host: HostAddress & { transport?: Host['transport'] }): Promise<Session> {
    if (host.transport === 'local') {
      this.#local ??= new LocalTransport(this.options.local);
      return this.#local.connect(host);
    }
    this.#ssh ??= new SshTransport(this.options.ssh);
    return this.#ssh.connect(host);
  }

  async close(): Promise<void> {
    await Promise.all([this.#ssh?.close(), this.#local?.close()]);
  }
}
