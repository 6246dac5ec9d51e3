import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseKeyValue } from './key-value.js';
import { contextualizationScript, optionsHeader } from './guest-script.js';
import { installScript } from './installer.js';
import { NETWORK_KEYS, postInstallScript } from './post-install.js';
import { shellcheck, shFiles } from '../../../contract/scripts/sh-files.mjs';

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SH = join(PACKAGE, 'sh');

describe('the shell files', () => {
  it('are one concern a file', () => {
    expect(shFiles(SH).map((f) => relative(SH, f))).toEqual(expect.arrayContaining(['contextualization.sh', 'post-install.sh', 'install.sh', 'common/dhcp.sh', 'post-install/networkd.sh']));
  });

  for (const file of shFiles(SH)) {
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
    // The keys live in common/context-keys.sh, which post-install.sh and cloud-init-scripts.sh both source.
    for (const name of ['post-install.sh', 'cloud-init-scripts.sh']) expect(readFileSync(join(SH, name), 'utf8')).toContain('. "$vmctx_sh/common/context-keys.sh"');
    const script = readFileSync(join(SH, 'common/context-keys.sh'), 'utf8');
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

/** The shells at hand (dash and busybox sh where installed): read_values must read alike under each. */
const SHELLS = [['dash'], ['bash', '--posix', '--norc'], ['busybox', 'sh']].filter(([cmd, ...rest]) => spawnSync(cmd!, [...rest, '-c', 'exit 0']).status === 0);

/** Each text as the value line V=TEXT read by sh/common/values.sh under `shell`; undefined where it was refused. */
function readBySh(shell: string[], texts: string[], dir: string): Array<string | undefined> {
  texts.forEach((text, i) => writeFileSync(join(dir, `f${i}`), `V=${text}\n`));
  const script = `warn() { printf '%s\\n' "$*" >&2; }
. ${JSON.stringify(join(SH, 'common/values.sh'))}
i=0
while [ "$i" -lt ${texts.length} ]; do
  V=unset-marker
  read_values "${dir}/f$i" "f$i" "V OTHER"
  printf '%s\\0' "$V"
  i=$((i + 1))
done`;
  const run = spawnSync(shell[0]!, [...shell.slice(1), '-c', script], { encoding: 'utf8', cwd: dir, input: '', env: { PATH: process.env.PATH } });
  expect(run.stderr.split('\n').filter((l) => !/^f\d+:1: /.test(l) && l !== '').join('\n')).toBe('');
  expect(run.status).toBe(0);
  return run.stdout.split('\0').slice(0, texts.length).map((v) => (v === 'unset-marker' ? undefined : v));
}

describe('common/values.sh (read_values)', () => {
  it.each(SHELLS)('reads values as parseKeyValue does, and runs nothing: %s', (...shell) => {
    const dir = mkdtempSync(join(tmpdir(), 'gs-values-'));
    try {
      const hostile = ["'web1'$(touch pwned1)", '`touch pwned2`', "a;touch pwned3", "\"$(touch pwned4)\"", "'unterminated", 'x\\'];
      const plain = ['192.168.122.1', '', "'it'\\''s'", '"example.org"', 'a b', "'$(no)'", 'a\\$b', '# not a comment'];
      const texts = [...hostile, ...plain];
      const wanted = texts.map((text) => {
        try {
          return parseKeyValue(`V=${text}`).V;
        } catch {
          return undefined;
        }
      });
      expect(readBySh(shell, texts, dir)).toEqual(wanted);
      expect(wanted.slice(0, 5)).toEqual([undefined, undefined, 'a;touch pwned3', undefined, undefined]);
      for (const n of [1, 2, 3, 4]) expect(existsSync(join(dir, `pwned${n}`))).toBe(false);
      const piece = fc.constantFrom('a', ' ', "'", '"', '\\', '$', '`', '(', ')', ';', '#', '=', '\t', 'é', 'x y', "'a b'", '"q r"');
      fc.assert(
        fc.property(fc.array(fc.array(piece, { maxLength: 8 }).map((parts) => parts.join('')), { minLength: 1, maxLength: 20 }), (values) => {
          const expected = values.map((text) => {
            try {
              return parseKeyValue(`V=${text}`).V;
            } catch {
              return undefined;
            }
          });
          expect(readBySh(shell, values, dir)).toEqual(expected);
        }),
        { numRuns: 25 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sets only the keys it is given, and refuses keys that are not names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gs-values-'));
    try {
      writeFileSync(join(dir, 'network'), "PATH=/evil\nV W=x\nIFS=x\nV='ok'\n");
      const run = spawnSync('sh', ['-c', `warn() { :; }; . ${JSON.stringify(join(SH, 'common/values.sh'))}; read_values network network V; printf '%s|%s' "$V" "$PATH"`], { encoding: 'utf8', cwd: dir });
      expect(run.stdout).toBe(`ok|${process.env.PATH}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('post-install', () => {
  it('reads common/network with read_values, never sourcing a file of the CD', () => {
    const script = postInstallScript();
    expect(script).not.toMatch(/^\s*\. "\$(ctx|wf_meta)/m);
    expect(script).toContain('read_values "$ctx/common/network" common/network "$network_keys"');
    const keys = /^network_keys="([A-Z_ ]+)"$/m.exec(readFileSync(join(SH, 'common/context-keys.sh'), 'utf8'))?.[1];
    expect(keys?.split(' ')).toEqual([...NETWORK_KEYS]);
  });
});
