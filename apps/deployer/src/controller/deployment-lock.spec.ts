import { existsSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ControllerConnection } from './connection.js';
import { lockDeployment } from './deployment-lock.js';
import { closeFakeSession, failure, FakeController, openFakeSession } from './fake-controller.fixture.js';

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
    expect(readFileSync(lock.path!, 'utf8')).toContain(`pid ${process.pid}`);
    lock.release();
  });

  it('refuses a link planted at the lock file, and does not write through it', async () => {
    const target = join(local, 'not-a-lock');
    writeFileSync(target, 'untouched\n');
    const dir = statSync(fake.imageDir);
    const path = `/run/lock/vmctx-planted-${dir.dev}-${dir.ino}.lock`;
    symlinkSync(target, path);
    try {
      const error = await failure(lockDeployment(connection, 'planted', { waitSeconds: 0 }));
      expect(error.message).toContain('is a symbolic link; vmctx will not follow it');
      expect(readFileSync(target, 'utf8')).toBe('untouched\n');
    } finally {
      rmSync(path);
    }
  });

  it('writes nothing in the image folder, and makes no missing one: preflight refuses that (issue 19)', async () => {
    const lock = await lockDeployment(connection, 'demo', { waitSeconds: 0 });
    expect(lock.path).toMatch(/^\/run\/lock\/vmctx-demo-\d+-\d+\.lock$/);
    lock.release();
    rmSync(fake.imageDir, { recursive: true });
    const none = await lockDeployment(connection, 'demo', { waitSeconds: 0 });
    expect(none.path).toBeUndefined();
    none.release();
    expect(existsSync(fake.imageDir)).toBe(false);
  });
});
