import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockHeldError } from '../errors.js';
import { ClusterLock, type LockHolder } from './lock.js';

const state = () => mkdtempSync(join(tmpdir(), 'cutover-lock-'));

describe('ClusterLock', () => {
  it('lets one run hold a cluster; a second gets LockHeldError naming the holder', () => {
    const dir = state();
    const lock = ClusterLock.acquire(dir, 'lab', 'r1', 'alice');
    const second = (() => {
      try {
        ClusterLock.acquire(dir, 'lab', 'r2', 'bob');
      } catch (e) {
        return e;
      }
    })();
    expect(second).toBeInstanceOf(LockHeldError);
    expect(String((second as Error).message)).toContain('alice');
    expect(String((second as Error).message)).toContain('r1');
    lock.release();
    ClusterLock.acquire(dir, 'lab', 'r2', 'bob').release();
    expect(ClusterLock.read(dir, 'lab')).toBeUndefined();
  });

  it('renews its own lease, and once broken never overwrites the new holder', () => {
    const dir = state();
    const lost: Array<LockHolder | undefined> = [];
    const lock = ClusterLock.acquire(dir, 'lab', 'r1', 'alice', { now: 0, onLost: (h) => lost.push(h) });
    lock.renew(30_000);
    expect(ClusterLock.read(dir, 'lab')?.expiresAt).toBe(new Date(90_000).toISOString());

    expect(ClusterLock.breakLock(dir, 'lab')?.runId).toBe('r1');
    const bob = ClusterLock.acquire(dir, 'lab', 'r2', 'bob');
    lock.renew();
    lock.renew();
    expect(lock.lost).toBe(true);
    expect(lost.map((h) => h?.owner)).toEqual(['bob']);
    expect(JSON.parse(readFileSync(ClusterLock.path(dir, 'lab'), 'utf8'))).toMatchObject({ runId: 'r2' });
    // Releasing the lost lock leaves bob's in place.
    lock.release();
    expect(ClusterLock.read(dir, 'lab')?.owner).toBe('bob');
    bob.release();
  });

  it('reports a lease broken with nobody taking it', () => {
    const dir = state();
    const lost: Array<LockHolder | undefined> = [];
    const lock = ClusterLock.acquire(dir, 'lab', 'r1', 'alice', { onLost: (h) => lost.push(h) });
    ClusterLock.breakLock(dir, 'lab');
    lock.renew();
    expect(lost).toEqual([undefined]);
    expect(ClusterLock.read(dir, 'lab')).toBeUndefined();
    lock.release();
  });
});
