import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  createTransport,
  InventoryTransport,
  LocalTransport,
  SshTransport,
  TransportError,
} from './index.js';

describe('createTransport', () => {
  it('picks the transport by host.transport', async () => {
    const local = createTransport({ transport: 'local' });
    const ssh = createTransport({ transport: 'ssh' });
    expect(local).toBeInstanceOf(LocalTransport);
    expect(ssh).toBeInstanceOf(SshTransport);
    await Promise.all([local.close(), ssh.close()]);
  });
});

describe('InventoryTransport', () => {
  it('routes local hosts to the local shell and the others to ssh', async () => {
    const hosts = new InventoryTransport({ ssh: { connectTimeoutSec: 5 } });
    try {
      const ctl = await hosts.connect({ name: 'ctl', address: 'localhost', transport: 'local' });
      expect((await ctl.exec('echo here')).stdout).toBe('here\n');
      const port = await new Promise<number>((resolve) => {
        const server = createServer().listen(0, '127.0.0.1', () => {
          const address = server.address();
          server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
        });
      });
      const err = await hosts
        .connect({ name: 'web', address: '127.0.0.1', port, transport: 'ssh' })
        .catch((e) => e);
      expect(err).toBeInstanceOf(TransportError);
      expect(String(err)).toContain(`web (`);
      expect(String(err)).toContain(`127.0.0.1:${port}`);
    } finally {
      await hosts.close();
    }
  });
});
