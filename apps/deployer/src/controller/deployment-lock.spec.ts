import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ControllerConnection } from './connection.js';
import { lockDeployment, lockPath } from './deployment-lock.js';
import { closeFakeSession, failure, FakeController, openFakeSession } from './fake-controller.test.js';

let fake: FakeController;
let connection: ControllerConnection;
let local: string;

beforeAll(async () => {
  ({ fake, connection, local } = await openFakeSession('vmctx-lock-spec-'));
});
afterAll(() => closeFakeSession({ fake, connection, local }));
beforeEach(() => fake.reset());

const another = () => ControllerConnection.open(fake.controller(), { readyTimeoutMs: 5000 });

describe('lockDeployment', () => {
  it('lets one run hold a deployment; a second is refused with the holder named when it may not wait', async () => {
    const first = await lockDeployment(connection, 'demo', { waitSeconds: 0 });
    const second = await another();
    try {
      const busy: string[] = [];
      const error = await failure(lockDeployment(second, 'demo', { waitSeconds: 0, onBusy: (h) => busy.push(h) }));
      expect(error.code).toBe('DEPLOY_LOCKED');
      expect(error.kind).toBe('conflict');
      expect(error.message).toContain(`another run holds it (host ${hostname()} pid ${process.pid} since `);
      expect(busy).toHaveLength(1);
      // Another deployment's lock is its own.
      (await lockDeployment(second, 'other', { waitSeconds: 0 })).release();
    } finally {
      first.release();
      second.close();
    }
  });

  it('makes a second run wait until the first lets go', async () => {
    const first = await lockDeployment(connection, 'demo', { waitSeconds: 0 });
    const second = await another();
    try {
      let got = false;
      const waiting = lockDeployment(second, 'demo', { waitSeconds: 20 }).then((lock) => {
        got = true;
        return lock;
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(got).toBe(false);
      first.release();
      (await waiting).release();
      expect(got).toBe(true);
    } finally {
      second.close();
    }
  });

  it('is free again once the holding run is gone (its connection dropped, as when it is killed)', async () => {
    const doomed = await another();
    await lockDeployment(doomed, 'demo', { waitSeconds: 0 });
    doomed.close();
    const lock = await lockDeployment(connection, 'demo', { waitSeconds: 20 });
    expect(readFileSync(lockPath(fake.imageDir, 'demo'), 'utf8')).toContain(`pid ${process.pid}`);
    lock.release();
  });

  it('refuses a link planted at the lock file, and does not write through it', async () => {
    const target = join(local, 'not-a-lock');
    writeFileSync(target, 'untouched\n');
    mkdirSync(join(fake.imageDir, '.vmctx'), { recursive: true });
    symlinkSync(target, lockPath(fake.imageDir, 'demo'));
    const error = await failure(lockDeployment(connection, 'demo', { waitSeconds: 0 }));
    expect(error.message).toContain('is a symbolic link; vmctx will not follow it');
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
    expect(existsSync(target)).toBe(true);
  });
});
