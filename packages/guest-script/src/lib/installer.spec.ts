import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { readdirSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contextualizationScript } from './guest-script.js';
import { freshRcLocal, installerFiles, installInto, installPlan, installScript, rcLocalWithCall, systemdUnit, type InstallOptions } from './installer.js';
import { reapplyTimer, reapplyUnit, udevRule } from './reapply-units.js';
import { rcLocalWithoutCall, uninstallFrom } from './uninstaller.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'gs-install-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('rc.local', () => {
  it('gets the call before its last exit 0, or at its end, and only once', () => {
    expect(rcLocalWithCall('#!/bin/sh -e\nexit 0\necho x\nexit 0\n')).toBe('#!/bin/sh -e\nexit 0\necho x\n/usr/local/bin/contextualization\nexit 0\n');
    expect(rcLocalWithCall('#!/bin/sh\necho x')).toBe('#!/bin/sh\necho x\n/usr/local/bin/contextualization\n');
    expect(rcLocalWithCall('#!/bin/sh\n  /usr/local/bin/contextualization >/dev/console 2>&1\nexit 0\n')).toBeUndefined();
    const once = rcLocalWithCall('#!/bin/sh\nexit 0\n')!;
    expect(rcLocalWithCall(once)).toBeUndefined();
    expect(rcLocalWithCall(freshRcLocal())).toBeUndefined();
  });
});

describe('installerFiles', () => {
  it('holds the script, the unit and a fresh rc.local', () => {
    const files = installerFiles({ label: 'X' });
    expect(files['usr/local/bin/contextualization']).toEqual({ data: contextualizationScript({ label: 'X' }), mode: 0o755 });
    expect(files['etc/systemd/system/vmctx-contextualization.service']).toEqual({ data: systemdUnit(), mode: 0o644 });
    expect(files['etc/rc.local']).toEqual({ data: freshRcLocal(), mode: 0o755 });
    expect(files['etc/udev/rules.d/90-vmctx-context.rules']).toEqual({ data: udevRule(), mode: 0o644 });
    expect(files['etc/systemd/system/vmctx-reapply.service']).toEqual({ data: reapplyUnit(), mode: 0o644 });
    expect(files['etc/systemd/system/vmctx-reapply.timer']).toEqual({ data: reapplyTimer(), mode: 0o644 });
    expect(Object.keys(installerFiles({ systemd: 'never', createRcLocal: false }))).toEqual(['usr/local/bin/contextualization', 'etc/udev/rules.d/90-vmctx-context.rules']);
  });

  it('honours auto: the files for an image with systemd, without, or (not known) both', () => {
    const keys = (options: InstallOptions, hasSystemd?: boolean) => Object.keys(installerFiles(options, hasSystemd));
    const script = 'usr/local/bin/contextualization';
    const unit = 'etc/systemd/system/vmctx-contextualization.service';
    const rule = 'etc/udev/rules.d/90-vmctx-context.rules';
    const reapply = ['etc/systemd/system/vmctx-reapply.service', 'etc/systemd/system/vmctx-reapply.timer'];
    expect(keys({}, true)).toEqual([script, unit, rule, ...reapply]);
    expect(keys({}, false)).toEqual([script, rule, 'etc/rc.local']);
    expect(keys({})).toEqual([script, unit, rule, ...reapply, 'etc/rc.local']);
    expect(keys({ createRcLocal: true, systemd: 'never' }, true)).toEqual([script, rule, 'etc/rc.local']);
    expect(keys({ systemd: 'always', createRcLocal: false }, false)).toEqual([script, unit, rule, ...reapply]);
  });

  it('holds what installInto writes into an empty image of either kind', async () => {
    const cases: Array<[InstallOptions, boolean]> = [
      [{}, true],
      [{}, false],
      [{ systemd: 'always', label: 'X' }, false],
      [{ systemd: 'never', createRcLocal: true }, true],
      [{ createRcLocal: false }, false],
    ];
    for (const [index, [options, hasSystemd]] of cases.entries()) {
      const image = join(root, `image-${index}`);
      await mkdir(image);
      if (hasSystemd) {
        await mkdir(join(image, 'lib/systemd'), { recursive: true });
        await writeFile(join(image, 'lib/systemd/systemd'), '');
      }
      const written = (await installInto(image, options)).filter((s) => s.action !== 'linked').map((s) => s.path.slice(1));
      const files = installerFiles(options, hasSystemd);
      expect(written).toEqual(Object.keys(files));
      for (const [path, entry] of Object.entries(files)) {
        expect(await readFile(join(image, path), 'utf8')).toBe(entry.data);
        expect((await stat(join(image, path))).mode & 0o7777).toBe(entry.mode);
      }
    }
  });

  it('makes a unit that stands aside where an executable rc.local runs the script', () => {
    expect(systemdUnit()).toMatch(/^ConditionFileIsExecutable=!\/etc\/rc\.local$/m);
    expect(systemdUnit()).toMatch(/^ExecStart=\/usr\/local\/bin\/contextualization$/m);
  });
});

describe('installInto', () => {
  it('installs into a busybox root: script and a new rc.local; a second run changes nothing', async () => {
    expect(await installInto(root)).toEqual([
      { path: '/usr/local/bin/contextualization', action: 'written' },
      { path: '/etc/udev/rules.d/90-vmctx-context.rules', action: 'written' },
      { path: '/etc/rc.local', action: 'created' },
    ]);
    expect((await stat(join(root, 'usr/local/bin/contextualization'))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(root, 'etc/rc.local'), 'utf8')).toBe(freshRcLocal());
    expect(await installInto(root)).toContainEqual({ path: '/etc/rc.local', action: 'unchanged' });
    expect(await readFile(join(root, 'etc/rc.local'), 'utf8')).toBe(freshRcLocal());
  });

  it('installs the enabled unit into a systemd root without rc.local, and keeps an existing rc.local mode', async () => {
    await mkdir(join(root, 'lib/systemd'), { recursive: true });
    await writeFile(join(root, 'lib/systemd/systemd'), '');
    const steps = await installInto(root);
    expect(steps.map((s) => s.action)).toEqual(['written', 'written', 'linked', 'written', 'written', 'written', 'linked']);
    expect(await readlink(join(root, 'etc/systemd/system/timers.target.wants/vmctx-reapply.timer'))).toBe('/etc/systemd/system/vmctx-reapply.timer');
    expect(await readlink(join(root, 'etc/systemd/system/multi-user.target.wants/vmctx-contextualization.service'))).toBe('/etc/systemd/system/vmctx-contextualization.service');
    expect(await lstat(join(root, 'etc/rc.local')).catch(() => undefined)).toBeUndefined();
    await writeFile(join(root, 'etc/rc.local'), '#!/bin/sh\nexit 0\n', { mode: 0o700 });
    expect((await installInto(root)).at(-1)).toEqual({ path: '/etc/rc.local', action: 'edited' });
    expect((await stat(join(root, 'etc/rc.local'))).mode & 0o777).toBe(0o700);
  });

  it('follows an rc.local link inside the root folder, never out of it', async () => {
    await mkdir(join(root, 'etc/rc.d'), { recursive: true });
    await writeFile(join(root, 'etc/rc.d/rc.local'), '#!/bin/sh\n', { mode: 0o755 });
    await symlink('/etc/rc.d/rc.local', join(root, 'etc/rc.local'));
    await installInto(root);
    expect(await readFile(join(root, 'etc/rc.d/rc.local'), 'utf8')).toBe('#!/bin/sh\n/usr/local/bin/contextualization\n');
    expect((await lstat(join(root, 'etc/rc.local'))).isSymbolicLink()).toBe(true);
  });

  it('resolves a relative rc.local link as the image would: ".." stops at its root', async () => {
    await mkdir(join(root, 'etc'), { recursive: true });
    await symlink('../../../../../rc.d/rc.local', join(root, 'etc/rc.local'));
    expect(await installInto(root)).toContainEqual({ path: '/etc/rc.local', action: 'created' });
    expect(await readFile(join(root, 'rc.d/rc.local'), 'utf8')).toBe(freshRcLocal());
    expect((await lstat(join(root, 'etc/rc.local'))).isSymbolicLink()).toBe(true);
  });

  it('keeps every write inside the root folder where its folders are absolute links (re-rooted, as the image sees them)', async () => {
    const host = await mkdtemp(join(tmpdir(), 'gs-host-'));
    try {
      // usr/local/bin, etc/systemd and (second image) etc itself: absolute links that, followed on the host, lead out.
      await mkdir(join(root, 'usr/local'), { recursive: true });
      await mkdir(join(root, 'etc'), { recursive: true });
      await mkdir(join(root, 'lib/systemd'), { recursive: true });
      await writeFile(join(root, 'lib/systemd/systemd'), '');
      await symlink(host, join(root, 'usr/local/bin'));
      await symlink(`${host}/systemd`, join(root, 'etc/systemd'));
      await writeFile(join(root, 'etc/rc.local'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      await installInto(root);
      expect(await readdir(host)).toEqual([]);
      expect(await readFile(join(root, host, 'contextualization'), 'utf8')).toBe(contextualizationScript());
      expect(await readFile(join(root, host, 'systemd/system/vmctx-contextualization.service'), 'utf8')).toBe(systemdUnit());
      expect((await lstat(join(root, 'usr/local/bin'))).isSymbolicLink()).toBe(true);

      const second = join(root, 'second');
      await mkdir(second);
      await symlink(host, join(second, 'etc'));
      // merged /usr: /lib a link to /usr/lib, as the image sees it (the host's /usr/lib is not the image's).
      await mkdir(join(second, 'usr/lib/systemd'), { recursive: true });
      await writeFile(join(second, 'usr/lib/systemd/systemd'), '');
      await symlink('/usr/lib', join(second, 'lib'));
      const steps = await installInto(second, { createRcLocal: true });
      expect(await readdir(host)).toEqual([]);
      expect(steps.map((s) => s.path)).toContain('/etc/systemd/system/vmctx-contextualization.service');
      expect(await readFile(join(second, host, 'rc.local'), 'utf8')).toBe(freshRcLocal());
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  });

  it('never follows a link planted at a temporary name, and gives up on a loop of links', async () => {
    const host = await mkdtemp(join(tmpdir(), 'gs-host-'));
    try {
      await mkdir(join(root, 'usr/local/bin'), { recursive: true });
      await writeFile(join(host, 'victim'), 'untouched');
      await symlink(join(host, 'victim'), join(root, 'usr/local/bin/contextualization.vmctx-new'));
      await installInto(root);
      expect(await readFile(join(host, 'victim'), 'utf8')).toBe('untouched');
      await mkdir(join(root, 'etc'), { recursive: true });
      await rm(join(root, 'etc/rc.local'));
      await symlink('/etc/rc.local', join(root, 'etc/rc.local'));
      await expect(installInto(root)).rejects.toMatchObject({ code: 'GUEST_INSTALL_FAILED' });
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  });

  it('refuses a root that is not a folder', async () => {
    await expect(installInto(join(root, 'missing'))).rejects.toMatchObject({ code: 'GUEST_NOT_A_ROOT_FOLDER' });
  });
});

describe('installPlan', () => {
  it('is what all three take: the script, the unit and its link for systemd images, the rc.local call', () => {
    expect(installPlan().map((s) => [s.kind, s.kind === 'rc-local' ? s.create : s.when, s.path])).toEqual([
      ['file', 'always', '/usr/local/bin/contextualization'],
      ['file', 'systemd', '/etc/systemd/system/vmctx-contextualization.service'],
      ['link', 'systemd', '/etc/systemd/system/multi-user.target.wants/vmctx-contextualization.service'],
      ['file', 'always', '/etc/udev/rules.d/90-vmctx-context.rules'],
      ['file', 'systemd', '/etc/systemd/system/vmctx-reapply.service'],
      ['file', 'systemd', '/etc/systemd/system/vmctx-reapply.timer'],
      ['link', 'systemd', '/etc/systemd/system/timers.target.wants/vmctx-reapply.timer'],
      ['rc-local', 'no-systemd', '/etc/rc.local'],
    ]);
    expect(installPlan({ systemd: 'never', createRcLocal: true }).map((s) => (s.kind === 'rc-local' ? s.create : s.when))).toEqual(['always', 'never', 'never', 'always', 'never', 'never', 'never', 'always']);
  });
});

describe('installScript', () => {
  it('embeds the very script and unit installInto writes', () => {
    const text = installScript({ timeoutSeconds: 42 });
    expect(text).toContain(contextualizationScript({ timeoutSeconds: 42 }));
    expect(text).toContain(systemdUnit());
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text).toContain("\nstep_link systemd '/etc/systemd/system/multi-user.target.wants/vmctx-contextualization.service' '/etc/systemd/system/vmctx-contextualization.service'\n");
  });
});

describe('installing twice changes nothing', () => {
  /** Every file, link and folder under `dir`: its inode, mtime and ctime in nanoseconds (a chmod moves ctime). */
  function snapshot(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (at: string, rel: string) => {
      const info = lstatSync(at, { bigint: true });
      out[rel || '.'] = `${info.ino} ${info.mtimeNs} ${info.ctimeNs} ${info.mode}`;
      if (info.isDirectory()) for (const name of readdirSync(at).sort()) walk(join(at, name), rel ? `${rel}/${name}` : name);
    };
    walk(dir, '');
    return out;
  }
  /** install.sh with the plan's steps, run by sh on ROOT; its lines. */
  async function shellInstall(image: string, options: InstallOptions): Promise<string[]> {
    const script = join(root, 'install.sh');
    await writeFile(script, installScript(options));
    return execFileSync('sh', [script, image], { encoding: 'utf8' }).trim().split('\n');
  }
  const viaNode = async (image: string, options: InstallOptions) => (await installInto(image, options)).map((s) => `${s.action} ${s.path}`);
  const ways = { node: viaNode, sh: shellInstall };

  it.each([
    ['node', 'node', true],
    ['sh', 'sh', true],
    ['node', 'sh', false],
    ['sh', 'node', false],
    ['sh', 'sh', false],
  ] as const)('first by %s, again by %s (systemd: %s): the same inode, mtime and ctime of every file and folder', async (first, second, systemd) => {
    const image = join(root, 'image');
    await mkdir(join(image, 'etc'), { recursive: true });
    if (systemd) {
      await mkdir(join(image, 'lib/systemd'), { recursive: true });
      await writeFile(join(image, 'lib/systemd/systemd'), '');
    }
    const options: InstallOptions = { label: 'CTX', createRcLocal: true };
    const done = await ways[first](image, options);
    expect(done).toContain('written /usr/local/bin/contextualization');
    const before = snapshot(image);
    // Timestamps of a rewrite would differ: let the clock move on before the second run.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const again = await ways[second](image, options);
    expect(snapshot(image)).toEqual(before);
    expect(again.filter((line) => !line.startsWith('unchanged '))).toEqual([]);
    expect(again).toContain('unchanged /usr/local/bin/contextualization');
  });

  it('rewrites a file that differs in content or in mode, and only that one', async () => {
    await installInto(root, { createRcLocal: true });
    await writeFile(join(root, 'usr/local/bin/contextualization'), 'edited\n');
    expect((await installInto(root, { createRcLocal: true })).map((s) => s.action)).toEqual(['written', 'unchanged', 'unchanged']);
    const { chmod } = await import('node:fs/promises');
    await chmod(join(root, 'usr/local/bin/contextualization'), 0o700);
    expect((await installInto(root, { createRcLocal: true }))[0]).toEqual({ path: '/usr/local/bin/contextualization', action: 'written' });
    expect((await stat(join(root, 'usr/local/bin/contextualization'))).mode & 0o777).toBe(0o755);
  });
});

describe('noticing an edited context CD (issue 21)', () => {
  it('a udev rule on a CD drive that changed and holds a medium, handing off to the script at once', () => {
    const rule = udevRule().split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(rule).toEqual(['ACTION=="change", SUBSYSTEM=="block", KERNEL=="sr[0-9]*", ENV{ID_CDROM_MEDIA}=="1", RUN+="/usr/local/bin/contextualization --media-changed"']);
  });

  it('a re-apply service after the boot run, and a timer that stands in only where udev does not run', () => {
    expect(reapplyUnit()).toMatch(/^ExecStart=\/usr\/local\/bin\/contextualization --reapply$/m);
    expect(reapplyUnit()).toMatch(/^After=vmctx-contextualization\.service rc-local\.service/m);
    expect(reapplyUnit()).toMatch(/^Type=oneshot$/m);
    expect(reapplyTimer()).toMatch(/^ConditionPathExists=!\/run\/udev\/control$/m);
    expect(reapplyTimer()).toMatch(/^Unit=vmctx-reapply\.service$/m);
    expect(reapplyTimer()).toMatch(/^WantedBy=timers\.target$/m);
  });
});

describe('uninstallFrom', () => {
  it('takes the call out of rc.local, line for line', () => {
    expect(rcLocalWithoutCall('#!/bin/sh\n/usr/local/bin/contextualization\nexit 0\n')).toBe('#!/bin/sh\nexit 0\n');
    expect(rcLocalWithoutCall('#!/bin/sh\n  /usr/local/bin/contextualization >/dev/console\necho x')).toBe('#!/bin/sh\necho x\n');
    expect(rcLocalWithoutCall('#!/bin/sh\nexit 0\n')).toBeUndefined();
    expect(rcLocalWithoutCall(rcLocalWithCall('#!/bin/sh -e\necho x\nexit 0\n')!)).toBe('#!/bin/sh -e\necho x\nexit 0\n');
  });

  it.each([true, false])('removes what installInto put there (systemd: %s), keeps what was there before, and says nothing the second time', async (systemd) => {
    if (systemd) {
      await mkdir(join(root, 'lib/systemd'), { recursive: true });
      await writeFile(join(root, 'lib/systemd/systemd'), '');
    }
    await mkdir(join(root, 'etc/udev/rules.d'), { recursive: true });
    await writeFile(join(root, 'etc/udev/rules.d/70-mine.rules'), 'mine\n');
    await writeFile(join(root, 'etc/rc.local'), '#!/bin/sh\necho mine\nexit 0\n', { mode: 0o750 });
    const before = snapshotPaths(root);
    await installInto(root);
    const removed = await uninstallFrom(root);
    expect(removed.filter((s) => s.action === 'removed').map((s) => s.path)).toEqual(
      systemd
        ? ['/usr/local/bin/contextualization', '/etc/systemd/system/vmctx-contextualization.service', '/etc/systemd/system/multi-user.target.wants/vmctx-contextualization.service', '/etc/udev/rules.d/90-vmctx-context.rules', '/etc/systemd/system/vmctx-reapply.service', '/etc/systemd/system/vmctx-reapply.timer', '/etc/systemd/system/timers.target.wants/vmctx-reapply.timer']
        : ['/usr/local/bin/contextualization', '/etc/udev/rules.d/90-vmctx-context.rules'],
    );
    expect(removed.at(-1)).toEqual({ path: '/etc/rc.local', action: 'edited' });
    expect(await readFile(join(root, 'etc/rc.local'), 'utf8')).toBe('#!/bin/sh\necho mine\nexit 0\n');
    expect((await stat(join(root, 'etc/rc.local'))).mode & 0o777).toBe(0o750);
    expect(snapshotPaths(root).filter((p) => !before.includes(p))).toEqual(systemd ? ['etc/systemd', 'etc/systemd/system', 'etc/systemd/system/multi-user.target.wants', 'etc/systemd/system/timers.target.wants', 'usr', 'usr/local', 'usr/local/bin'] : ['usr', 'usr/local', 'usr/local/bin']);
    expect(await uninstallFrom(root)).toEqual([]);
  });

  it('removes the fresh rc.local it made, and install.sh --uninstall does what uninstallFrom does, in the same words', async () => {
    const byNode = join(root, 'node');
    const bySh = join(root, 'sh');
    for (const image of [byNode, bySh]) {
      await mkdir(image);
      await installInto(image);
    }
    const script = join(root, 'install.sh');
    await writeFile(script, installScript());
    const said = execFileSync('sh', [script, '--uninstall', bySh], { encoding: 'utf8' });
    const done = await uninstallFrom(byNode);
    expect(done).toContainEqual({ path: '/etc/rc.local', action: 'removed' });
    expect(said).toBe(done.map((s) => `${s.action} ${s.path}\n`).join(''));
    expect(snapshotPaths(bySh)).toEqual(snapshotPaths(byNode));
    expect(snapshotPaths(byNode).filter((p) => !['usr', 'usr/local', 'usr/local/bin', 'etc', 'etc/udev', 'etc/udev/rules.d'].includes(p))).toEqual([]);
    expect(execFileSync('sh', [script, '--uninstall', bySh], { encoding: 'utf8' })).toBe('');
  });
});

/** Every path under `dir`, sorted. */
function snapshotPaths(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      out.push(path);
      if (lstatSync(join(dir, path)).isDirectory()) walk(path);
    }
  };
  walk('');
  return out.sort();
}
