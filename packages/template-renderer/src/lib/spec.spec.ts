import { describe, expect, it } from 'vitest';
import { domainSpecJsonSchema, formatPath, parseDomainSpec, parseDomainSpecYaml, SpecError } from './spec.js';

const valid = {
  name: 'vm1',
  memory: { value: 512, unit: 'MiB' },
  devices: {
    disks: [{ driver: { type: 'qcow2' }, source: { file: '/i/vm1.qcow2' }, target: { dev: 'vda', bus: 'virtio' } }],
    interfaces: [{ type: 'bridge', source: { bridge: 'virbr0' } }],
  },
};

function issuesOf(input: unknown, at = ''): { path: string; message: string }[] {
  try {
    parseDomainSpec(input, at);
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).code).toBe('TEMPLATE_INVALID_SPEC');
    return (error as SpecError).issues;
  }
  throw new Error('expected the spec to be refused');
}

describe('parseDomainSpec', () => {
  it('fills the defaults: kvm, x86_64, 1 vCPU, utc, destroy/restart/destroy', () => {
    const spec = parseDomainSpec(valid);
    expect(spec).toMatchObject({
      type: 'kvm',
      vcpu: 1,
      os: { arch: 'x86_64' },
      clock: { offset: 'utc' },
      on_poweroff: 'destroy',
      on_reboot: 'restart',
      on_crash: 'destroy',
    });
    expect(spec.devices.disks[0]).toMatchObject({ device: 'disk', driver: { name: 'qemu', type: 'qcow2' }, readonly: false });
  });

  it.each([
    ['a multicast MAC', (s: any) => (s.devices.interfaces[0].mac = { address: '01:00:5e:00:00:01' }), 'devices.interfaces[0].mac.address', /expected unicast mac address, found multicast '01:00:5e:00:00:01'/],
    ['a malformed MAC', (s: any) => (s.devices.interfaces[0].mac = { address: '52:54:00:zz:00:01' }), 'devices.interfaces[0].mac.address', /unable to parse mac address/],
    ['an empty bridge', (s: any) => (s.devices.interfaces[0].source.bridge = ''), 'devices.interfaces[0].source.bridge', /bridge is empty/],
    ['an empty disk path', (s: any) => (s.devices.disks[0].source.file = ''), 'devices.disks[0].source.file', /disk source file is empty/],
    ['a relative disk path', (s: any) => (s.devices.disks[0].source.file = 'vm1.qcow2'), 'devices.disks[0].source.file', /absolute path on the controller/],
    ['a bad target', (s: any) => (s.devices.disks[0].target.dev = 'xyz'), 'devices.disks[0].target.dev', /not a disk target/],
    ['a name with /', (s: any) => (s.name = 'a/b'), 'name', /contains "\/"/],
    ['a bad uuid', (s: any) => (s.uuid = '1234'), 'uuid', /not a UUID/],
    ['a typo', (s: any) => (s.memroy = 1), '', /Unrecognized key: "memroy"/],
    ['a zero memory', (s: any) => (s.memory.value = 0), 'memory.value', /Too small/i],
    ['an unknown unit', (s: any) => (s.memory.unit = 'MB2'), 'memory.unit', /Invalid option/i],
    ['a timezone without offset timezone', (s: any) => (s.clock = { offset: 'utc', timezone: 'UTC' }), 'clock.timezone', /timezone is required with offset 'timezone'/],
    ['an unsupported interface type', (s: any) => (s.devices.interfaces[0].type = 'direct'), 'devices.interfaces[0].type', /Expected 'bridge' \| 'network'/],
    ['a newline in the cmdline', (s: any) => (s.os = { cmdline: 'a\nb' }), 'os.cmdline', /U\+000A/],
    ['an empty boot list', (s: any) => (s.os = { boot: [] }), 'os.boot', /at least one boot device/],
  ])('refuses %s and says where', (_what, mutate, path, message) => {
    const input = structuredClone(valid);
    mutate(input);
    const issues = issuesOf(input, 'vms[2]');
    const expected = path === '' ? 'vms[2]' : `vms[2].${path}`;
    expect(issues).toContainEqual({ path: expected, message: expect.stringMatching(message) });
  });

  it('prints every issue zod-style, with where it is', () => {
    const input = structuredClone(valid) as any;
    input.devices.interfaces[0].mac = { address: 'nope' };
    input.vcpu = 0;
    expect(() => parseDomainSpec(input, 'vms[2]', 'deployment.yaml')).toThrow(
      "deployment.yaml is not a valid VM spec:\n✖ Too small: expected number to be >=1\n  → at vms[2].vcpu\n✖ unable to parse mac address 'nope'\n  → at vms[2].devices.interfaces[0].mac.address",
    );
  });
});

describe('formatPath', () => {
  it.each([
    [[], '', ''],
    [['a', 0, 'b'], '', 'a[0].b'],
    [[0, 'x'], 'vms', 'vms[0].x'],
    [['nics', 1, 'mac'], 'vms[2]', 'vms[2].nics[1].mac'],
  ] as [PropertyKey[], string, string][])('%j under %j is %j', (path, prefix, expected) => {
    expect(formatPath(path, prefix)).toBe(expected);
  });
});

describe('domainSpecJsonSchema', () => {
  const schema = domainSpecJsonSchema() as any;
  it('is a draft 2020-12 schema of the input form: defaulted fields are optional', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required.sort()).toEqual(['memory', 'name']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.type).toMatchObject({ default: 'kvm', enum: ['kvm', 'qemu'] });
  });
  it('describes the context ISO modes and the NIC variants', () => {
    const devices = schema.properties.devices;
    expect(devices.properties.context.properties.mode).toMatchObject({ default: 'cdrom', enum: ['cdrom', 'disk'] });
    const variants = devices.properties.interfaces.items.oneOf ?? devices.properties.interfaces.items.anyOf;
    expect(variants.map((v: any) => v.properties.type.const)).toEqual(['bridge', 'network']);
  });
});

describe('parseDomainSpecYaml', () => {
  it('reads YAML and JSON into the same spec', () => {
    const yaml = 'name: web-1\nmemory: { value: 256, unit: MiB }\n';
    expect(parseDomainSpecYaml(yaml, 'web-1.yaml')).toEqual(parseDomainSpecYaml(JSON.stringify({ name: 'web-1', memory: { value: 256, unit: 'MiB' } })));
  });

  it('refuses text that does not parse, duplicate keys and an alias bomb, as TEMPLATE_SPEC_SYNTAX', () => {
    expect(() => parseDomainSpecYaml('name: [unclosed\n', 'x.yaml')).toThrow(expect.objectContaining({ code: 'TEMPLATE_SPEC_SYNTAX', kind: 'input', message: expect.stringMatching(/^x\.yaml is not valid YAML/) }));
    expect(() => parseDomainSpecYaml('name: a\nname: b\n')).toThrow(expect.objectContaining({ code: 'TEMPLATE_SPEC_SYNTAX' }));
    const letters = 'abcdefghi';
    const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) bomb.push(`${letters[i]}: &${letters[i]} [${Array(9).fill(`*${letters[i - 1]}`).join(',')}]`);
    expect(() => parseDomainSpecYaml(bomb.join('\n'))).toThrow(expect.objectContaining({ code: 'TEMPLATE_SPEC_SYNTAX', message: expect.stringMatching(/alias/i) }));
  });

  it('says where a spec that parses is wrong', () => {
    expect(() => parseDomainSpecYaml('name: x\n', 'x.yaml', 'vms[1]')).toThrow(expect.objectContaining({ code: 'TEMPLATE_INVALID_SPEC', where: 'vms[1].memory' }));
  });
});
