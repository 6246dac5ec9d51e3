import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeFakeSession, failure, openFakeSession, type FakeSession } from '../controller/fake-controller.fixture.js';
import { consoleLogSize, CONTEXTUALIZED, waitForContextualized, waitForReapply } from './wait.js';

let session: FakeSession;
beforeAll(async () => {
  session = await openFakeSession('vmctx-wait-spec-');
});
afterAll(() => closeFakeSession(session));

/** What guest-script prints on each kind of boot (packages/guest-script, contextualization.sh). */
const BOOTS = {
  first: ['vmctx: contextualization starts (label CONTEXT)', 'vmctx: running post-install of instance 3f2a (time limit 300s)', 'vmctx: post-install done (instance 3f2a)'],
  again: ['vmctx: contextualization starts (label CONTEXT)', 'vmctx: instance 3f2a is already contextualized; bringing up its network', 'vmctx: network: ifup eth0'],
  noCd: ['vmctx: contextualization starts (label CONTEXT)', 'vmctx: no context CD (no CD drive); falling back to DHCP'],
  unfinished: ['vmctx: contextualization starts (label CONTEXT)', 'vmctx: running post-install of instance 3f2a (time limit 300s)'],
  // A stock cloud image (issue 20): cloud-init 22.4.2's own lines on the console of a Debian 12 genericcloud-like guest.
  cloudInit: [
    '[   21.204511] cloud-init[231]: Cloud-init v. 22.4.2 running \'init-local\' at Mon, 07 Dec 2026 14:30:02 +0000. Up 20.81 seconds.',
    '[   38.114021] cloud-init[402]: Cloud-init v. 22.4.2 running \'modules:final\' at Mon, 07 Dec 2026 14:30:19 +0000. Up 37.90 seconds.',
    '[   38.690277] cloud-init[402]: Cloud-init v. 22.4.2 finished at Mon, 07 Dec 2026 14:30:20 +0000. Datasource DataSourceNoCloud [seed=/dev/sr0][dsmode=net].  Up 38.66 seconds',
  ],
  cloudInitUnfinished: ['[   21.204511] cloud-init[231]: Cloud-init v. 22.4.2 running \'init-local\' at Mon, 07 Dec 2026 14:30:02 +0000. Up 20.81 seconds.'],
};

describe('waitForContextualized', () => {
  it.each([
    ['first', 'post-install done (instance 3f2a)'],
    ['again', 'is already contextualized; bringing up its network'],
    ['noCd', 'falling back to DHCP'],
    ['cloudInit', 'Cloud-init v. 22.4.2 finished at Mon, 07 Dec 2026 14:30:20 +0000. Datasource DataSourceNoCloud [seed=/dev/sr0]'],
  ] as const)(
    'takes a %s boot as done',
    async (boot, said) => {
      const log = join(session.fake.imageDir, `${boot}.console.log`);
      writeFileSync(log, `[    0.000000] Linux version 6.1.0\n${BOOTS[boot].join('\n')}\n`);
      const result = await waitForContextualized(session.connection, 'web-1', log, 5000);
      expect(result.line).toContain(said);
    },
  );

  it('waits for a boot that has not said so yet, and ends with DEPLOY_WAIT_TIMEOUT', async () => {
    const log = join(session.fake.imageDir, 'unfinished.console.log');
    writeFileSync(log, `${BOOTS.unfinished.join('\n')}\n`);
    const error = await failure(waitForContextualized(session.connection, 'web-1', log, 1000));
    expect(error.code).toBe('DEPLOY_WAIT_TIMEOUT');
    expect(CONTEXTUALIZED.test(BOOTS.unfinished.join('\n'))).toBe(false);
    // cloud-init's earlier stages are not its end.
    expect(CONTEXTUALIZED.test(BOOTS.cloudInitUnfinished.join('\n'))).toBe(false);
  });
});

describe('waitForReapply', () => {
  it('reads from the offset given: the boot line before it is no answer; a post-install that failed is "not live"', async () => {
    const log = join(session.fake.imageDir, 'reapply.console.log');
    writeFileSync(log, `${BOOTS.first.join('\n')}\n`);
    const from = await consoleLogSize(session.connection, log);
    expect(from).toBeGreaterThan(0);
    expect(await waitForReapply(session.connection, log, from, 1000)).toEqual({ applied: false, why: 'it said nothing of it on its console within 1 s' });
    appendFileSync(log, 'vmctx: instance 9e1b replaces 3f2a: applying it without a reboot\nvmctx: post-install failed with status 3; it runs again at next boot\n');
    expect(await waitForReapply(session.connection, log, from, 5000)).toEqual({ applied: false, why: 'it said "post-install failed with status 3"' });
    expect(await consoleLogSize(session.connection, join(session.fake.imageDir, 'none.console.log'))).toBe(0);
  });
});
