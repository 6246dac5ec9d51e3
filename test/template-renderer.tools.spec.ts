/**
 * template-renderer against libvirt's own tools on this machine, no root and no lab:
 * - every domain XML the tests render or import passes `virt-xml-validate FILE domain` (libvirt's RNG schema;
 *   needs xmllint from libxml2-utils);
 * - the native fixtures import, rewrite, validate and are accepted by `virsh -c test:///default define`
 *   (libvirt's in-process test driver: libvirt's own XML parser and checks, no daemon);
 * - each lint's libvirt message is what virsh itself prints for the same XML.
 * What only the QEMU driver checks (a cdrom on virtio) is left to the lab suite.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importNativeTemplate, parseDomainSpec, renderDomainXml } from '@vmctx/template-renderer';
import { domainSpecArbitrary } from '../packages/template-renderer/src/testing/spec-arbitrary.fixture.js';
import { lintTable, qemuDriverOnly } from '../packages/template-renderer/src/testing/lint-cases.fixture.js';

const run = promisify(execFile);
const fixtures = new URL('../packages/template-renderer/fixtures/', import.meta.url).pathname;
let dir: string;
let count = 0;

/** Writes `xml` to the temp folder and returns virt-xml-validate's verdict. */
async function validate(xml: string, name = `domain-${++count}`): Promise<{ ok: boolean; output: string }> {
  const file = join(dir, `${name}.xml`);
  await writeFile(file, xml);
  try {
    const { stdout, stderr } = await run('virt-xml-validate', [file, 'domain']);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}

/** Runs virsh commands on libvirt's in-process test driver; returns what virsh printed and its exit code. */
async function virshTest(...commands: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('virsh', ['-q', '-c', 'test:///default', commands.join(' ; ')]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return { code: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'template-renderer-tools-'));
  // virt-xml-validate is a shell script around xmllint; without it every validation "fails" for that reason.
  const probe = await validate('<domain type="kvm"><name>probe</name><memory>1</memory><os><type>hvm</type></os></domain>', 'probe');
  if (!probe.ok) throw new Error(`virt-xml-validate does not work here (install libxml2-utils for xmllint): ${probe.output}`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('rendered XML passes virt-xml-validate', () => {
  it('every golden spec', async () => {
    const specs = (await readdir(join(fixtures, 'specs'))).filter((f) => f.endsWith('.json'));
    expect(specs.length).toBeGreaterThanOrEqual(5);
    for (const file of specs) {
      const spec = parseDomainSpec(JSON.parse(await readFile(join(fixtures, 'specs', file), 'utf8')), '', file);
      for (const deployment of [undefined, 'tools']) {
        const result = await validate(renderDomainXml(spec, deployment ? { deployment } : {}), `${file}-${deployment ?? 'plain'}`);
        expect(result, `${file}: ${result.output}`).toMatchObject({ ok: true });
      }
    }
  });

  it('80 random valid specs, and libvirt defines them', async () => {
    const specs = fc.sample(domainSpecArbitrary, { numRuns: 80, seed: 20261126 });
    for (const [i, spec] of specs.entries()) {
      const xml = renderDomainXml(spec, { deployment: 'random' });
      const result = await validate(xml, `random-${i}`);
      expect(result, `${JSON.stringify(spec)}\n${result.output}`).toMatchObject({ ok: true });
      const defined = await virshTest(`define ${join(dir, `random-${i}.xml`)}`);
      expect(defined, xml).toMatchObject({ code: 0 });
    }
  });
});

describe('native templates', () => {
  const rewrite = (name: string) => ({
    name: `tools-${name}`,
    deployment: 'tools',
    iso: '/var/lib/vmctx/images/context.iso',
    bridge: 'virbr0',
    domainType: 'qemu' as const,
  });

  it("the seed's debian1.xml fails validation as given and passes once imported", async () => {
    const seed = await readFile(join(fixtures, 'native', 'debian1.xml'), 'utf8');
    const asGiven = await validate(seed, 'seed-as-given');
    expect(asGiven.ok).toBe(false);
    expect(asGiven.output).toContain('clock');
    const { xml } = importNativeTemplate(seed, { ...rewrite('debian1'), disks: ['/var/lib/vmctx/images/tools-debian1.qcow2'] });
    const result = await validate(xml, 'seed-imported');
    expect(result, result.output).toMatchObject({ ok: true });
    expect(await virshTest(`define ${join(dir, 'seed-imported.xml')}`)).toMatchObject({ code: 0 });
  });

  it.each(['q35-sata-cdrom.xml', 'i440fx-ide-cdrom.xml', 'multi-nic-disk.xml'])('%s imports, rewrites, validates and defines', async (file) => {
    const source = await readFile(join(fixtures, 'native', file), 'utf8');
    expect((await validate(source, `${file}-as-given`)).ok).toBe(true);
    for (const isoMode of ['cdrom', 'disk'] as const) {
      const { xml } = importNativeTemplate(source, { ...rewrite(file.replace('.xml', '')), isoMode }, file);
      const name = `${file}-${isoMode}`;
      const result = await validate(xml, name);
      expect(result, result.output).toMatchObject({ ok: true });
      const defined = await virshTest(`define ${join(dir, `${name}.xml`)}`, `dumpxml --inactive tools-${file.replace('.xml', '')}`);
      expect(defined.code, defined.output).toBe(0);
      // libvirt keeps the user alias that marks the context ISO's disk, so the deployer can find it again.
      expect(defined.output).toContain("<alias name='ua-vmctx-context'/>");
    }
  });
});

describe("lint messages are libvirt's", () => {
  // The test driver has libvirt's XML parser and generic checks, not the QEMU driver's (cdrom-on-virtio, ...).
  const definable = lintTable.filter(([what, , , libvirt, when]) => libvirt !== undefined && when === 'define' && !qemuDriverOnly.has(what));
  it('covers most rows', () => expect(definable.length).toBeGreaterThanOrEqual(9));
  it.each(definable)('%s', async (what, xml, _code, libvirt) => {
    const file = join(dir, `lint-${what.replace(/\W+/g, '-')}.xml`);
    await writeFile(file, xml);
    const result = await virshTest(`define ${file}`);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(`error: ${libvirt}`);
  });

  it('duplicate names and uuids, as virsh says them', async () => {
    const dom = (name: string, uuid: string) => `<domain type="qemu"><name>${name}</name><uuid>${uuid}</uuid><memory>1024</memory><os><type arch="x86_64">hvm</type></os></domain>`;
    const u1 = '11111111-2222-3333-4444-555555555555';
    await writeFile(join(dir, 'dup-a.xml'), dom('same', u1));
    await writeFile(join(dir, 'dup-b.xml'), dom('same', u1.replace('5555555', '6666666')));
    await writeFile(join(dir, 'dup-c.xml'), dom('other', u1));
    const { lintDomains } = await import('@vmctx/template-renderer');
    const names = lintDomains([{ label: 'a', xml: dom('same', u1) }, { label: 'b', xml: dom('same', u1.replace('5555555', '6666666')) }]);
    expect((await virshTest(`define ${join(dir, 'dup-a.xml')}`, `define ${join(dir, 'dup-b.xml')}`)).output).toContain(`error: ${names[0]!.libvirt}`);
    await writeFile(join(dir, 'dup-d.xml'), dom('same', '').replace('<uuid></uuid>', ''));
    const noUuid = lintDomains([{ label: 'a', xml: dom('same', u1) }, { label: 'd', xml: dom('same', '').replace('<uuid></uuid>', '') }]);
    expect((await virshTest(`define ${join(dir, 'dup-a.xml')}`, `define ${join(dir, 'dup-d.xml')}`)).output).toContain(`error: ${noUuid[0]!.libvirt}`);
    const uuids = lintDomains([{ label: 'a', xml: dom('same', u1) }, { label: 'c', xml: dom('other', u1) }]);
    expect((await virshTest(`define ${join(dir, 'dup-a.xml')}`, `define ${join(dir, 'dup-c.xml')}`)).output).toContain(`error: ${uuids[0]!.libvirt}`);
  });
});
