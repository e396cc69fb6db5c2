/** The result of one command on one host. Example: `{ code: 0, stdout: 'active\n', stderr: '' }`. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the command was ended by the timeout (code is then 124). */
  timedOut?: boolean;
}

export interface ExecOptions {
  /** Text written to the command's stdin (how secrets reach a command without argv). */
  stdin?: string;
  /** Kill the command (its whole process group) after this many ms. */
  timeoutMs?: number;
  /** Called with output chunks as they arrive, for live progress. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void;
  /** Aborting kills the command like a timeout. */
  signal?: AbortSignal;
}

/**
 * A connection to one host: run commands with a non-login `sh`, copy files in and out with
 * sha256 verification. Example: `await session.exec('systemctl is-active nginx')`.
 */
export interface Session {
  readonly host: string;
  /** The user the session's commands run as (`id -un` on the host, after sudo), once connected; undefined when the transport cannot tell. */
  readonly user?: string | undefined;
  exec(script: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Uploads `data` to `remotePath` atomically (tmp + rename); resolves with the sha256 the host computed. */
  put(data: Buffer, remotePath: string, opts?: { mode?: string }): Promise<{ sha256: string }>;
  /** Downloads a file; rejects when the host's sha256 and the received bytes differ. */
  get(remotePath: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** Where a session goes. Example: `{ name: 'web', address: '127.0.10.10', port: 22, user: 'root' }`. */
export interface HostAddress {
  name: string;
  address: string;
  port?: number;
  user?: string;
  /** Extra `ssh -o` options from the inventory (e.g. IdentityFile, UserKnownHostsFile). */
  sshOptions?: Readonly<Record<string, string>>;
  /** Run the session's shell through sudo as this user (once per session, see become.ts). */
  become?: BecomeTarget;
}

/** Whom a session's shell becomes through sudo, and the password sudo may ask for. Example: `{ user: 'root', password: secret }`. */
export interface BecomeTarget {
  user: string;
  /** Given to sudo on stdin when (and only when) sudo asks; never in argv or the journal. */
  password?: string;
}

/** Opens sessions: the system OpenSSH client, the local machine, or a recording for tests. */
export interface Transport {
  connect(host: HostAddress): Promise<Session>;
  /** Closes every session this transport opened (ControlMaster included). */
  close(): Promise<void>;
}
