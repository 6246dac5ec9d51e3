import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deriveMac, deriveUuid, domainSpecFromXml, LINTS, parseXml } from '@vmctx/template-renderer';
import { createProgram } from '../program.js';
import { captureIo, failure } from '../cli/capture-io.fixture.js';
import { templateCommand } from './template.js';

let dir: string;
const io = captureIo();
const template = (...args: string[]) => templateCommand(io).parseAsync(args, { from: 'user' });
const seed = new URL('../../../../packages/template-renderer/fixtures/native/debian1.xml', import.meta.url).pathname;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-template-'));
  io.reset();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const specYaml = `# a lab guest
type: qemu
name: guest1
memory: { value: 256, unit: MiB }
os: { machine: q35, kernel: /boot/vmlinuz, initrd: /boot/initrd.img, cmdline: console=ttyS0 root=/dev/vda }
devices:
  disks:
    - { driver: { type: qcow2 }, source: { file: /var/lib/vmctx/images/guest1.qcow2 }, target: { dev: vda, bus: virtio } }
  context: { source: { file: /var/lib/vmctx/images/context.iso } }
  interfaces: [{ type: bridge, source: { bridge: virbr0 } }]
  serials: [{ type: file, source: { path: /var/lib/vmctx/guest1.serial } }]
`;

describe('vmctx template render', () => {
  it('prints the domain XML of a YAML spec, with identities from the deployment', async () => {
    await writeFile(join(dir, 'guest1.yaml'), specYaml);
    await template('render', '--deployment', 'lab', join(dir, 'guest1.yaml'));
    expect(io.err).toBe('');
    expect(io.out).toContain(`<uuid>${deriveUuid('lab', 'guest1')}</uuid>`);
    expect(io.out).toContain(`<mac address="${deriveMac('lab', 'guest1')}"/>`);
    expect(domainSpecFromXml(io.out)).toMatchObject({ type: 'qemu', name: 'guest1', devices: { context: { mode: 'cdrom' } } });
  });

  it('reads JSON too, and gives the same bytes for the same spec', async () => {
    const { parse } = await import('yaml');
    await writeFile(join(dir, 'guest1.yaml'), specYaml);
    await writeFile(join(dir, 'guest1.json'), JSON.stringify(parse(specYaml)));
    await template('render', join(dir, 'guest1.yaml'));
    const fromYaml = io.out;
    io.out = '';
    await template('render', join(dir, 'guest1.json'));
    expect(io.out).toBe(fromYaml);
  });

  it('says where a spec is wrong and exits 2', async () => {
    await writeFile(join(dir, 'bad.yaml'), specYaml.replace('bridge: virbr0', 'bridge: virbr0 }, mac: { address: "01:00:5e:00:00:01"'));
    expect(await failure(io, template('render', join(dir, 'bad.yaml')))).toMatchObject({
      exitCode: 2,
      code: 'TEMPLATE_INVALID_SPEC',
      message: expect.stringContaining("expected unicast mac address, found multicast '01:00:5e:00:00:01'\n  → at devices.interfaces[0].mac.address"),
    });
    expect(io.out).toBe('');
  });

  it('refuses YAML that does not parse, and a YAML alias bomb', async () => {
    await writeFile(join(dir, 'syntax.yaml'), 'name: [unclosed\n');
    expect(await failure(io, template('render', join(dir, 'syntax.yaml')))).toMatchObject({ exitCode: 2, code: 'TEMPLATE_SPEC_SYNTAX' });
    const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) bomb.push(`${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9).fill(`*${'abcdefghi'[i - 1]}`).join(',')}]`);
    await writeFile(join(dir, 'bomb.yaml'), `${bomb.join('\n')}\n`);
    expect(await failure(io, template('render', join(dir, 'bomb.yaml')))).toMatchObject({ exitCode: 2, code: 'TEMPLATE_SPEC_SYNTAX', message: expect.stringMatching(/alias/i) });
  });

  it('exits 1 and prints nothing when a lint finds an error; --no-lint prints anyway', async () => {
    await writeFile(join(dir, 'clash.yaml'), specYaml.replace('disks:\n', 'disks:\n    - { driver: { type: raw }, source: { file: /x.raw }, target: { dev: vda, bus: virtio } }\n'));
    expect(await failure(io, template('render', join(dir, 'clash.yaml')))).toMatchObject({ exitCode: 1 });
    expect(io.out).toBe('');
    expect(io.err).toContain("libvirt (at define): XML error: target 'vda' duplicated for disk sources '/x.raw' and '/var/lib/vmctx/images/guest1.qcow2'");
    await template('render', '--no-lint', join(dir, 'clash.yaml'));
    expect(io.out).toContain('<domain');
  });
});

describe('vmctx template import', () => {
  it("rewrites the seed's debian1.xml and says what it repaired on stderr", async () => {
    await template('import', seed, '--name', 'debian7', '--uuid', '11111111-2222-3333-4444-555555555555', '--mac', '02:00:c6:33:64:0b',
      '--disk', '/var/lib/vmctx/images/debian7.qcow2', '--iso', '/var/lib/vmctx/images/context.iso', '--bridge', 'br-lab', '--domain-type', 'qemu', '--no-emulator');
    expect(io.out).toContain('<domain type="qemu">\n<name>debian7</name>\n<uuid>11111111-2222-3333-4444-555555555555</uuid>');
    expect(io.out).toContain('<mac address="02:00:c6:33:64:0b"/>');
    expect(io.out).toContain('<source file="/var/lib/vmctx/images/debian7.qcow2"/>');
    expect(io.out).toContain('<source file="/var/lib/vmctx/images/context.iso"/>\n     <target dev="hdc" bus="ide"/>');
    expect(io.out).toContain('<source bridge="br-lab"/>');
    expect(io.out).not.toContain('<emulator>');
    expect(io.err).toMatch(/^vmctx template import: clock-sync-repaired: .*debian1\.xml \/domain\/clock: <clock sync='localtime'> replaced by <clock offset='localtime'>/m);
    expect(io.err).toMatch(/^vmctx template import: cdrom-on-virtio-repaired: .*does not support ejectable media/m);
    expect(parseXml(io.out).name).toBe('domain');
  });

  it('takes one --bridge per interface, and --iso-mode disk', async () => {
    const two = join(dir, 'two.xml');
    await writeFile(two, (await readFile(seed, 'utf8')).replace('</devices>', "<interface type='bridge'><source bridge='x'/></interface></devices>"));
    await template('import', two, '--deployment', 'd', '--bridge', 'b0', '--bridge', 'b1', '--iso-mode', 'disk');
    expect(io.out).toMatch(/<source bridge="b0"\/>[\s\S]*<source bridge="b1"\/>/);
    expect(io.out).toContain('<target dev="vdb" bus="virtio"/>');
    expect(io.out).toContain(`<mac address="${deriveMac('d', 'debian1', { nic: 1 })}"/>`);
  });

  it('exits 2 on bad input: malformed XML, a DOCTYPE, too many MACs, a 50 MB file, a missing file, a bad --iso-mode', async () => {
    const cases: [string, string, RegExp][] = [
      ['bad.xml', '<domain><name>x</domain>', /not well-formed XML/],
      ['dtd.xml', '<!DOCTYPE d [<!ENTITY a "aaaa">]><domain>&a;</domain>', /DOCTYPE.*XML bomb/],
    ];
    for (const [name, text, message] of cases) {
      await writeFile(join(dir, name), text);
      expect(await failure(io, template('import', join(dir, name)))).toMatchObject({ exitCode: 2, message: expect.stringMatching(message) });
    }
    expect(await failure(io, template('import', seed, '--mac', '02:00:00:00:00:01', '--mac', '02:00:00:00:00:02'))).toMatchObject({
      exitCode: 2,
      code: 'TEMPLATE_REWRITE_FAILED',
    });
    const big = join(dir, 'big.xml');
    await writeFile(big, '');
    await truncate(big, 50 * 2 ** 20);
    // Refused by its size before it is read (not timed here: a wall-time bound fails on a busy machine).
    expect(await failure(io, template('import', big))).toMatchObject({ exitCode: 2, code: 'TEMPLATE_TOO_LARGE', message: expect.stringContaining('50.0 MiB') });
    expect(await failure(io, template('import', join(dir, 'missing.xml')))).toMatchObject({ exitCode: 2, code: 'CLI_NOT_FOUND' });
    expect(await failure(io, template('import', seed, '--iso-mode', 'floppy'))).toMatchObject({ exitCode: 2 });
    expect(io.err).toContain("argument 'floppy' is invalid");
    expect(io.out).toBe('');
  });
});

describe('vmctx template lint', () => {
  it("exits 1 on the seed's template as given, with libvirt's message and a fix", async () => {
    expect(await failure(io, template('lint', seed))).toMatchObject({ exitCode: 1 });
    expect(io.err).toContain("error cdrom-on-virtio: ");
    expect(io.err).toContain("libvirt (at define): unsupported configuration: disk type of 'vdb' does not support ejectable media");
    expect(io.err).toContain('warning clock-sync-attribute');
    expect(io.err).toContain('warning mac-not-local');
    expect(io.err).toMatch(/1 file\(s\): 1 error\(s\), 2 warning\(s\)\n$/);
  });

  it('exits 0 on clean files, finds duplicates across files, and against existing domains', async () => {
    await writeFile(join(dir, 'a.yaml'), specYaml);
    await template('lint', '--deployment', 'lab', join(dir, 'a.yaml'));
    expect(io.err).toBe('1 file(s): 0 error(s), 0 warning(s)\n');
    await writeFile(join(dir, 'b.json'), JSON.stringify({ name: 'guest1', memory: { value: 1 } }));
    expect(await failure(io, template('lint', join(dir, 'a.yaml'), join(dir, 'b.json')))).toMatchObject({ exitCode: 1 });
    expect(io.err).toContain(`error duplicate-name: ${join(dir, 'b.json')} /domain/name`);
    await writeFile(join(dir, 'existing.json'), JSON.stringify([{ name: 'guest1', uuid: '11111111-2222-3333-4444-555555555555' }]));
    io.err = '';
    expect(await failure(io, template('lint', '--deployment', 'lab', '--existing', join(dir, 'existing.json'), join(dir, 'a.yaml')))).toMatchObject({ exitCode: 1 });
    expect(io.err).toContain("operation failed: domain 'guest1' already exists with uuid 11111111-2222-3333-4444-555555555555");
  });

  it('prints JSON findings with --json', async () => {
    expect(await failure(io, template('lint', '--json', seed))).toMatchObject({ exitCode: 1 });
    const findings = JSON.parse(io.out) as { code: string; libvirt?: string; fix: string }[];
    expect(findings.map((f) => f.code)).toEqual(['clock-sync-attribute', 'cdrom-on-virtio', 'mac-not-local']);
  });

  it('lists the lints', async () => {
    await template('lint', '--list');
    expect(io.out).toMatch(/^cdrom-on-virtio\terror\ta cdrom on bus virtio\n  fix: /);
    // One line per lint of template-renderer's catalogue.
    expect(io.out.match(/^\S+\t(error|warning)\t/gm)).toHaveLength(Object.keys(LINTS).length);
  });

  it('exits 2 without files or on a bad --existing file', async () => {
    expect(await failure(io, template('lint'))).toMatchObject({ exitCode: 2, code: 'CLI_USAGE' });
    await writeFile(join(dir, 'existing.json'), '{"name": "x"}');
    expect(await failure(io, template('lint', '--existing', join(dir, 'existing.json'), seed))).toMatchObject({ exitCode: 2, code: 'CLI_EXISTING_SYNTAX' });
  });
});

describe('XML errors say the line as editors and libvirt count it (issue 12)', () => {
  it('counts lines from 1, in template lint and template import', async () => {
    await writeFile(join(dir, 'bad.xml'), '<domain type="kvm">\n  <name>vm1</name>\n  <memory>1</memory\n</domain>\n');
    for (const command of ['lint', 'import']) {
      io.reset();
      expect(await failure(io, template(command, join(dir, 'bad.xml')))).toMatchObject({
        exitCode: 2,
        code: 'TEMPLATE_MALFORMED_XML',
        message: expect.stringMatching(/bad\.xml is not well-formed XML: .* at line 4, column 1$/),
      });
    }
  });
});

describe('names a command line misreads (issue 12)', () => {
  it('template import --name -rf and a spec named with shell characters are warned about, not refused', async () => {
    await template('import', '--name', '-rf', '--no-lint', seed);
    expect(io.err).toMatch(/warning shell-risky-name: .*domain name "-rf" starts with "-"/);
    expect(io.out).toMatch(/<name>-rf<\/name>/);
    io.reset();
    await writeFile(join(dir, 'shell.yaml'), specYaml.replace('name: guest1', "name: 'web;reboot'"));
    await template('lint', join(dir, 'shell.yaml'));
    expect(io.err).toMatch(/shell-risky-name: .*domain name "web;reboot" contains ";"/);
    expect(io.err).toMatch(/0 error\(s\), 1 warning\(s\)/);
  });
});

describe('vmctx template schema', () => {
  it('prints the JSON Schema of a VM spec', async () => {
    await template('schema');
    const schema = JSON.parse(io.out) as { $schema: string; required: string[] };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required).toEqual(['name', 'memory']);
  });
});

describe('vmctx', () => {
  it('has the template command', () => {
    expect(createProgram().commands.map((c) => c.name())).toContain('template');
  });
});
