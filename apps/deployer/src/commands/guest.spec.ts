import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contextualizationScript, freshRcLocal, installScript } from '@vmctx/guest-script';
import { captureIo, failure } from '../cli/capture-io.fixture.js';
import { guestCommand } from './guest.js';

let dir: string;
const io = captureIo();
const guest = (...args: string[]) => guestCommand(io).parseAsync(args, { from: 'user' });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-guest-'));
  io.reset();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('vmctx guest script', () => {
  it('prints the contextualization script on stdout', async () => {
    await guest('script');
    expect(io.out).toBe(contextualizationScript());
    expect(io.err).toBe('');
  });

  it('passes the options on', async () => {
    await guest('script', '--label', 'MYCTX', '--every-boot', '--timeout', '20', '--dhcp-timeout', '5', '--interface', 'ens3');
    expect(io.out).toBe(contextualizationScript({ label: 'MYCTX', everyBoot: true, timeoutSeconds: 20, dhcpTimeoutSeconds: 5, interface: 'ens3' }));
  });

  it('exits 2 on a bad option value', async () => {
    expect(await failure(io, guest('script', '--timeout', 'soon'))).toMatchObject({ exitCode: 2 });
    // The contract's label rule, applied when the option is parsed (cli/options.spec.ts: the same in every --label).
    io.reset();
    expect(await failure(io, guest('script', '--label', "it's"))).toMatchObject({ exitCode: 2 });
    expect(io.err).toMatch(/^error: option '--label <label>' argument 'it's' is invalid\. volume label "it's" contains "'"/);
    expect(io.out).toBe('');
  });
});

describe('vmctx guest install', () => {
  it('fills a root folder and says what it did on stderr', async () => {
    await guest('install', dir);
    expect(await readFile(join(dir, 'usr/local/bin/contextualization'), 'utf8')).toBe(contextualizationScript());
    expect((await stat(join(dir, 'usr/local/bin/contextualization'))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(dir, 'etc/rc.local'), 'utf8')).toBe(freshRcLocal());
    expect(io.err).toBe('written   /usr/local/bin/contextualization\nwritten   /etc/udev/rules.d/90-vmctx-context.rules\ncreated   /etc/rc.local\n');
    expect(io.out).toBe('');
  });

  it('run twice changes nothing: the same inode and mtime of every file it wrote, each said unchanged', async () => {
    await guest('install', dir, '--systemd', 'always');
    const files = ['usr/local/bin/contextualization', 'etc/systemd/system/vmctx-contextualization.service', 'etc/rc.local'];
    const identity = async () => Promise.all(files.map(async (f) => `${(await stat(join(dir, f), { bigint: true })).ino} ${(await stat(join(dir, f), { bigint: true })).mtimeNs}`));
    const before = await identity();
    io.reset();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await guest('install', dir, '--systemd', 'always');
    expect(await identity()).toEqual(before);
    expect(io.err).toBe(
      [
        '/usr/local/bin/contextualization',
        '/etc/systemd/system/vmctx-contextualization.service',
        '/etc/udev/rules.d/90-vmctx-context.rules',
        '/etc/systemd/system/vmctx-reapply.service',
        '/etc/systemd/system/vmctx-reapply.timer',
        '/etc/rc.local',
      ]
        .map((path) => `unchanged ${path}\n`)
        .join(''),
    );
  });

  it('installs the unit when asked, and no rc.local when told not to', async () => {
    await guest('install', dir, '--systemd', 'always', '--rc-local', 'never');
    expect(io.err).toMatch(/written   \/etc\/systemd\/system\/vmctx-contextualization\.service/);
    await expect(stat(join(dir, 'etc/rc.local'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('exits 2 when the root is not a folder', async () => {
    expect(await failure(io, guest('install', join(dir, 'nope')))).toMatchObject({ exitCode: 2, code: 'GUEST_NOT_A_ROOT_FOLDER' });
  });
});

describe('vmctx guest uninstall', () => {
  it('takes out what install put there, keeps what the image had, and says what it did; a second run finds nothing', async () => {
    await writeFile(join(dir, 'keep.txt'), 'the image\'s own file\n');
    await guest('install', dir, '--systemd', 'always', '--rc-local', 'always');
    io.reset();
    await guest('uninstall', dir);
    expect(io.err).toBe(
      [
        'removed   /usr/local/bin/contextualization',
        'removed   /etc/systemd/system/vmctx-contextualization.service',
        'removed   /etc/systemd/system/multi-user.target.wants/vmctx-contextualization.service',
        'removed   /etc/udev/rules.d/90-vmctx-context.rules',
        'removed   /etc/systemd/system/vmctx-reapply.service',
        'removed   /etc/systemd/system/vmctx-reapply.timer',
        'removed   /etc/systemd/system/timers.target.wants/vmctx-reapply.timer',
        'removed   /etc/rc.local',
        '',
      ].join('\n'),
    );
    expect(await readFile(join(dir, 'keep.txt'), 'utf8')).toBe("the image's own file\n");
    for (const path of ['usr/local/bin/contextualization', 'etc/rc.local', 'etc/udev/rules.d/90-vmctx-context.rules']) {
      await expect(stat(join(dir, path))).rejects.toMatchObject({ code: 'ENOENT' });
    }
    io.reset();
    await guest('uninstall', dir);
    expect(io.err).toBe(`nothing of vmctx's script in ${dir}\n`);
  });

  it('exits 2 when the root is not a folder', async () => {
    expect(await failure(io, guest('uninstall', join(dir, 'nope')))).toMatchObject({ exitCode: 2, code: 'GUEST_NOT_A_ROOT_FOLDER' });
  });
});

describe('vmctx guest install-script', () => {
  it('prints the installer', async () => {
    await guest('install-script', '--systemd', 'never');
    expect(io.out).toBe(installScript({ systemd: 'never' }));
  });
});
