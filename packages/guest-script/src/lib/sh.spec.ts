import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { contextualizationScript, optionsHeader } from './guest-script.js';
import { installScript } from './installer.js';
import { NETWORK_KEYS, postInstallScript } from './post-install.js';

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SH = join(PACKAGE, 'sh');

function shFiles(dir = SH): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? shFiles(join(dir, entry.name)) : entry.name.endsWith('.sh') ? [join(dir, entry.name)] : []))
    .sort();
}

/** shellcheck's findings on `file` (following what it sources), or on standard input; '' when there are none. */
function shellcheck(file: string, input?: string): string {
  const result = spawnSync('shellcheck', ['-s', 'sh', '-x', '-P', 'SCRIPTDIR', file], { input, encoding: 'utf8' });
  if (result.error) throw new Error(`shellcheck could not run (is it installed?): ${result.error.message}`);
  return `${result.stdout}${result.stderr}${result.status === 0 ? '' : `exit status ${result.status}`}`;
}

describe('the shell files', () => {
  it('are one concern a file', () => {
    expect(shFiles().map((f) => relative(SH, f))).toEqual(expect.arrayContaining(['contextualization.sh', 'post-install.sh', 'install.sh', 'common/dhcp.sh', 'post-install/networkd.sh']));
  });

  for (const file of shFiles()) {
    it(`passes shellcheck -s sh: ${relative(SH, file)}`, () => {
      expect(shellcheck(file)).toBe('');
    });
  }

  it('are embedded as they are now (src/lib/sh.generated.ts is not stale)', () => {
    const result = spawnSync(process.execPath, [join(PACKAGE, 'scripts/embed-sh.mjs'), '--check'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it.each([
    ['contextualization', contextualizationScript({ everyBoot: true, label: 'MY_CTX', interface: 'ens3' })],
    ['post-install', postInstallScript()],
    ['install', installScript()],
  ])('give a %s script that passes shellcheck as one file, with nothing of the source tree left', (_name, text) => {
    expect(shellcheck('-', text)).toBe('');
    expect(text).not.toMatch(/vmctx_sh|vmctx:options|shellcheck source=(?!\/dev\/null)|shellcheck shell=/);
  });

  it("hold the defaults contextualizationScript() writes, for runs from the source tree", () => {
    const options = readFileSync(join(SH, 'contextualization/options.sh'), 'utf8');
    expect(options.split('\n').filter((line) => line !== '' && !line.startsWith('#'))).toEqual(optionsHeader().trimEnd().split('\n'));
  });

  it("clear and export NETWORK_KEYS in post-install, no more, no fewer", () => {
    const script = readFileSync(join(SH, 'post-install.sh'), 'utf8');
    expect(script.match(/^[A-Z_]+=$/gm)).toEqual(NETWORK_KEYS.map((key) => `${key}=`));
    expect(script).toContain(`\nexport ${NETWORK_KEYS.join(' ')}\n`);
  });
});

describe('run from the source tree', () => {
  it('contextualization finds no CD and says so, as the generated script does', () => {
    // A sandbox root, and a PATH of harmless commands only: no mount, ip, ifup or DHCP client can be reached.
    const dir = mkdtempSync(join(tmpdir(), 'gs-sh-'));
    try {
      const root = join(dir, 'root');
      const bin = join(dir, 'bin');
      mkdirSync(root);
      mkdirSync(bin);
      for (const tool of ['cat', 'chmod', 'date', 'dirname', 'head', 'ls', 'mkdir', 'mktemp', 'rmdir']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
      const run = spawnSync('/bin/sh', [join(SH, 'contextualization.sh')], { encoding: 'utf8', env: { PATH: bin, VMCTX_ROOT: root } });
      expect(run.status).toBe(0);
      const log = readFileSync(join(root, 'var/log/contextualization.log'), 'utf8');
      expect(log).toMatch(/no context CD \(no CD drive\); falling back to DHCP/);
      expect(log).toMatch(/network: no ifup, networkd, dhclient or udhcpc here; eth0 stays unconfigured/);
      expect(log).toMatch(/contextualization finished/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
