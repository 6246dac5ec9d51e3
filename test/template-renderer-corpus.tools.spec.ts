/**
 * Native import held against libvirt 9.0's own test domains (tests/qemuxml2argvdata), issue 13.
 *
 * The corpus is libvirt's (LGPL), fetched from Debian's source package into /var/cache/vmctx/libvirt-corpus by
 * tools/setup/libvirt-corpus.sh (setup runs it once per machine; this suite runs it when the folder is missing).
 * The sample: every domain the schema accepts, sorted by name, checked with virt-xml-validate's own command
 * (`xmllint --noout --relaxng /usr/share/libvirt/schemas/domain.rng`) in one batch, since one virt-xml-validate
 * process per file takes minutes here; a few files are checked with virt-xml-validate itself to show they agree.
 *
 * Each sampled domain is imported as the deployer imports a native template (overlay, context ISO, bridge) and
 * must come out either startable (valid against the schema, none of issue 13's four faults, no lint error) or
 * refused with a clear message (a TemplateError, or a lint error, on which the deployer refuses the VM).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { elements, firstElement, getAttr, hasErrors, importNativeTemplate, lintDomainXml, TemplateError, type XmlElement } from '@vmctx/template-renderer';

const run = promisify(execFile);
const CORPUS = process.env['VMCTX_LIBVIRT_CORPUS'] ?? '/var/cache/vmctx/libvirt-corpus';
const DATA = join(CORPUS, 'qemuxml2argvdata');
const SCHEMA = '/usr/share/libvirt/schemas/domain.rng';
const OVERLAY = '/var/lib/vmctx/corpus/corpus-vm.qcow2';
const ISO = '/var/lib/vmctx/corpus/context-0123456789abcdef.iso';

/**
 * This suite's counts on the code before issue 13's fixes (run once on commit c97c165 with this file), for the
 * before/after lines it prints. `faulty` also holds one domain the schema refused after import (a portgroup left on
 * a bridge interface).
 */
const BEFORE = {
  startable: 492,
  refused: 26,
  faulty: 530,
  faults: { 'overlay-on-block': 340, 'overlay-not-qcow2': 368, 'iso-on-block': 57, 'cdrom-bus-missing': 154 },
  expectedFailures: 181,
  caught: 2,
};

type Fault = 'overlay-on-block' | 'overlay-not-qcow2' | 'iso-on-block' | 'cdrom-bus-missing';

/** libvirt 9.0's qemuDomainMachineHasBuiltinIDE (src/qemu/qemu_domain.c), written out here so the check does not use the code it checks. */
function machineHasIde(arch: string, machine: string | undefined): boolean {
  const x86 = arch === 'x86_64' || arch === 'i686';
  if (x86 && (machine === undefined || machine === 'pc' || /^(pc-0\.|pc-1\.|pc-i440fx-|rhel)/.test(machine))) return true;
  return machine === 'malta' || machine === 'sun4u' || machine === 'g3beige';
}

function diskWithSource(devices: XmlElement, path: string): XmlElement | undefined {
  return elements(devices, 'disk').find((d) => {
    const s = firstElement(d, 'source');
    return s !== undefined && (getAttr(s, 'file') === path || getAttr(s, 'dev') === path);
  });
}

/** Issue 13's four faults in an imported domain. */
function faultsOf(root: XmlElement): Fault[] {
  const faults: Fault[] = [];
  const devices = firstElement(root, 'devices');
  if (!devices) return faults;
  const overlay = diskWithSource(devices, OVERLAY);
  if (overlay) {
    // libvirt's default disk type is file.
    if ((getAttr(overlay, 'type') ?? 'file') !== 'file' || getAttr(firstElement(overlay, 'source')!, 'file') !== OVERLAY) faults.push('overlay-on-block');
    const driver = firstElement(overlay, 'driver');
    if (!driver || getAttr(driver, 'type') !== 'qcow2') faults.push('overlay-not-qcow2');
  }
  const iso = diskWithSource(devices, ISO);
  if (iso) {
    if ((getAttr(iso, 'type') ?? 'file') !== 'file') faults.push('iso-on-block');
    const target = firstElement(iso, 'target');
    const bus = target && (getAttr(target, 'bus') ?? (getAttr(target, 'dev')?.startsWith('hd') ? 'ide' : undefined));
    const type = firstElement(firstElement(root, 'os') ?? root, 'type');
    const arch = (type && getAttr(type, 'arch')) ?? 'x86_64';
    const machine = type && getAttr(type, 'machine');
    if (getAttr(iso, 'device') === 'cdrom' && (bus === 'virtio' || (bus === 'ide' && !machineHasIde(arch, machine)))) faults.push('cdrom-bus-missing');
  }
  return faults;
}

/** virt-xml-validate's verdict for many files at once: its own xmllint command, one process. */
async function schemaValid(files: string[]): Promise<Set<string>> {
  const valid = new Set<string>();
  for (let i = 0; i < files.length; i += 400) {
    const batch = files.slice(i, i + 400);
    const out = await run('xmllint', ['--noout', '--relaxng', SCHEMA, ...batch], { maxBuffer: 64 << 20 }).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    for (const line of out.split('\n')) if (line.endsWith(' validates')) valid.add(line.slice(0, -' validates'.length));
  }
  return valid;
}

async function virtXmlValidate(file: string): Promise<boolean> {
  return run('virt-xml-validate', [file, 'domain']).then(
    () => true,
    () => false,
  );
}

/** libvirt's expected failures: the names with an .err file and those its test driver runs with a FAILURE or PARSE_ERROR macro. */
async function expectedFailures(names: string[]): Promise<Set<string>> {
  const listed = new Set<string>();
  for (const f of await readdir(DATA)) if (f.endsWith('.err')) listed.add(f.split('.')[0]!);
  const driver = await readFile(join(CORPUS, 'qemuxml2argvtest.c'), 'utf8');
  for (const m of driver.matchAll(/DO_TEST_[A-Z_]*(?:PARSE_ERROR|FAILURE)[A-Z_]*\(\s*"([^"]+)"/g)) listed.add(m[1]!);
  return new Set(names.filter((n) => listed.has(n)));
}

/** Refusals counted by their reason (the lint code, or the import error with its numbers and names taken out). */
function reasons(refused: Map<string, string>): string {
  const counts = new Map<string, number>();
  for (const m of refused.values()) {
    const key = m.split(':')[0]!.includes(' ') ? m.replace(/^[^:]*: /, '').replace(/\d+/g, 'N').slice(0, 60) : m.split(':')[0]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join('; ');
}

let dir: string;
let names: string[] = [];
let sample: string[] = [];
let failing = new Set<string>();

beforeAll(async () => {
  if (!existsSync(join(CORPUS, '.complete-9.0.0'))) {
    const script = new URL('../tools/setup/libvirt-corpus.sh', import.meta.url).pathname;
    await run('bash', [script, CORPUS], { timeout: 540_000 });
  }
  dir = await mkdtemp(join(tmpdir(), 'template-renderer-corpus-'));
  names = (await readdir(DATA))
    .filter((f) => f.endsWith('.xml'))
    .map((f) => f.slice(0, -4))
    .sort();
  const valid = await schemaValid(names.map((n) => join(DATA, `${n}.xml`)));
  sample = names.filter((n) => valid.has(join(DATA, `${n}.xml`)));
  failing = await expectedFailures(sample);
}, 600_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('libvirt 9.0 tests/qemuxml2argvdata through native import', () => {
  it('the batch schema check agrees with virt-xml-validate', async () => {
    const rejected = names.filter((n) => !sample.includes(n)).slice(0, 2);
    const accepted = sample.filter((_, i) => i % 250 === 0);
    expect(rejected.length).toBeGreaterThan(0);
    for (const n of accepted) expect(await virtXmlValidate(join(DATA, `${n}.xml`)), n).toBe(true);
    for (const n of rejected) expect(await virtXmlValidate(join(DATA, `${n}.xml`)), n).toBe(false);
  });

  it('every sampled domain is imported into a startable form or refused with a clear message', async () => {
    expect(sample.length).toBeGreaterThan(1000);
    const imported = new Map<string, string>();
    const refused = new Map<string, string>();
    const crashed: string[] = [];
    for (const n of sample) {
      const xml = await readFile(join(DATA, `${n}.xml`), 'utf8');
      try {
        // As the deployer imports a template: the VM's overlay on its first disk (if it has one; half the corpus has
        // none, which the deployer refuses, so those are imported as `vmctx template import` without --disk does).
        const rewrite = { name: 'corpus-vm', deployment: 'corpus', iso: ISO, isoMode: 'cdrom', bridge: 'virbr0' } as const;
        let out;
        try {
          out = importNativeTemplate(xml, { ...rewrite, disks: [OVERLAY] }, `${n}.xml`);
        } catch (error) {
          if (!(error instanceof TemplateError && /disk paths given for 0 /.test(error.message))) throw error;
          out = importNativeTemplate(xml, rewrite, `${n}.xml`);
        }
        const errors = lintDomainXml(out.tree, `${n}.xml`).filter((f) => f.severity === 'error');
        if (hasErrors(errors)) refused.set(n, `${errors[0]!.code}: ${errors[0]!.message}`);
        else imported.set(n, out.xml);
      } catch (error) {
        if (error instanceof TemplateError && error.message.length > 20) refused.set(n, error.message);
        else crashed.push(`${n}: ${String(error)}`);
      }
    }
    expect(crashed).toEqual([]);
    for (const [n, xml] of imported) await writeFile(join(dir, `${n}.xml`), xml);
    const valid = await schemaValid([...imported.keys()].map((n) => join(dir, `${n}.xml`)));
    const faults: Record<Fault, string[]> = { 'overlay-on-block': [], 'overlay-not-qcow2': [], 'iso-on-block': [], 'cdrom-bus-missing': [] };
    const invalid: string[] = [];
    let startable = 0;
    for (const [n, xml] of imported) {
      const found = faultsOf(importNativeTemplate(xml).tree);
      for (const f of found) faults[f].push(n);
      if (!valid.has(join(dir, `${n}.xml`))) invalid.push(n);
      if (found.length === 0 && valid.has(join(dir, `${n}.xml`))) startable++;
    }
    const faulty = imported.size - startable;
    // libvirt's expected failures: how many lint catches on the domain as libvirt wrote it.
    let caught = 0;
    for (const n of failing) {
      const xml = await readFile(join(DATA, `${n}.xml`), 'utf8');
      if (hasErrors(lintDomainXml(xml, n))) caught++;
    }
    const count = (r: Record<Fault, string[]>) => Object.entries(r).map(([k, v]) => `${k} ${Array.isArray(v) ? v.length : v}`).join(', ');
    console.log(
      [
        `libvirt 9.0 qemuxml2argvdata: ${names.length} domains, sample ${sample.length} (those virt-xml-validate accepts)`,
        `before: ${BEFORE.startable} startable, ${BEFORE.refused} refused, ${BEFORE.faulty} imported but not startable (${count(BEFORE.faults as never)}); lint flags ${BEFORE.caught} of ${BEFORE.expectedFailures} expected failures`,
        `after:  ${startable} startable, ${refused.size} refused, ${faulty} imported but not startable (${count(faults)}); lint flags ${caught} of ${failing.size} expected failures`,
        `refused, by reason: ${reasons(refused)}`,
        ...(faulty ? [`not startable: ${[...new Set([...invalid, ...Object.values(faults).flat()])].slice(0, 20).join(', ')}`] : []),
      ].join('\n'),
    );
    expect(invalid).toEqual([]);
    expect(faults).toEqual({ 'overlay-on-block': [], 'overlay-not-qcow2': [], 'iso-on-block': [], 'cdrom-bus-missing': [] });
    expect(startable + refused.size).toBe(sample.length);
    expect(caught).toBeGreaterThan(BEFORE.caught);
  });
});
