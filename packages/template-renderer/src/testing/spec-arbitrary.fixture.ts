/**
 * fast-check arbitraries of VM specs, shared by the property tests and test/template-renderer.tools.spec.ts.
 * (A `.test.ts` file so that it is left out of the library build; it holds no tests itself.)
 */
import fc from 'fast-check';
import type { DiskSpec, DomainSpec, InterfaceSpec } from '../lib/spec.js';
import { domainNameProblem } from '../lib/domain-name.js';

const letters = 'abcdefghijklmnopqrstuvwxyz';
const word = fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/);
/** Printable text with the characters XML must escape, spaces at the ends, and non-ASCII. */
export const freeText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('&', '<', '>', '"', "'", ']]>', '&lt;', '&#38;', '&x;', ' ', '=', '/', 'é', '€', '😀', '\u00a0'),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }).filter((c) => c >= ' '),
  ),
  maxLength: 30,
});
const hostPath = fc.tuple(fc.array(word, { minLength: 1, maxLength: 4 }), freeText).map(([dirs, tail]) => `/${dirs.join('/')}${tail.replace(/\//g, '_')}`);
const mac = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => [(b[0]! & 0xfc) | 0x02, ...b.slice(1)].map((o) => o.toString(16).padStart(2, '0')).join(':'));
const uuid = fc.uuid();

const nic: fc.Arbitrary<InterfaceSpec> = fc
  .record(
    {
      type: fc.constantFrom('bridge' as const, 'network' as const),
      name: word,
      mac: fc.option(mac, { nil: undefined }),
      model: fc.option(fc.constantFrom('virtio' as const, 'e1000' as const, 'e1000e' as const, 'rtl8139' as const), { nil: undefined }),
    },
    { requiredKeys: ['type', 'name'] },
  )
  .map(({ type, name, mac: address, model }) => {
    const base = type === 'bridge' ? { type, source: { bridge: name } } : { type, source: { network: name } };
    return { ...base, ...(address ? { mac: { address } } : {}), ...(model ? { model: { type: model } } : {}) } as InterfaceSpec;
  });

/** Disks on distinct targets (vda, vdb, ... or sda, ...), as a valid spec has them. */
const disks: fc.Arbitrary<DiskSpec[]> = fc
  .array(
    fc.record({
      device: fc.constantFrom('disk' as const, 'cdrom' as const),
      type: fc.constantFrom('qcow2' as const, 'raw' as const),
      file: hostPath,
      readonly: fc.boolean(),
    }),
    { maxLength: 4 },
  )
  .map((list) =>
    list.map((d, i): DiskSpec => ({
      device: d.device,
      driver: { name: 'qemu', type: d.device === 'cdrom' ? 'raw' : d.type },
      source: { file: d.file },
      // cdroms on sata, disks on virtio: what libvirt accepts (a cdrom on virtio is a lint error, tested apart).
      target: d.device === 'cdrom' ? { dev: `sd${letters[i]}`, bus: 'sata' } : { dev: `vd${letters[i]}`, bus: 'virtio' },
      readonly: d.readonly || d.device === 'cdrom',
    })),
  );

export const domainSpecArbitrary: fc.Arbitrary<DomainSpec> = fc
  .record(
    {
      type: fc.constantFrom('kvm' as const, 'qemu' as const),
      name: fc.oneof(word, freeText.filter((s) => domainNameProblem(s) === undefined)),
      uuid: fc.option(uuid, { nil: undefined }),
      title: fc.option(freeText.filter((s) => s.length > 0), { nil: undefined }),
      description: fc.option(freeText, { nil: undefined }),
      memory: fc.record({ value: fc.integer({ min: 1, max: 1 << 24 }), unit: fc.constantFrom('KiB' as const, 'MiB' as const, 'GiB' as const, 'b' as const) }),
      vcpu: fc.integer({ min: 1, max: 64 }),
      // Room to grow live: a share of the memory (per cent) and a number of vCPUs online at the start.
      grow: fc.option(fc.tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 64 })), { nil: undefined }),
      machine: fc.option(fc.constantFrom('q35', 'pc', 'pc-q35-7.2', 'pc-i440fx-7.2'), { nil: undefined }),
      kernel: fc.option(fc.tuple(hostPath, hostPath, freeText), { nil: undefined }),
      boot: fc.option(fc.subarray(['hd', 'cdrom', 'network'] as const, { minLength: 1 }), { nil: undefined }),
      features: fc.option(fc.subarray(['acpi', 'apic', 'pae'] as const), { nil: undefined }),
      cpu: fc.option(fc.constantFrom('host-passthrough' as const, 'host-model' as const, 'maximum' as const), { nil: undefined }),
      clock: fc.oneof(fc.constantFrom({ offset: 'utc' as const }, { offset: 'localtime' as const }), fc.stringMatching(/^[a-zA-Z0-9_.+\-/]{1,20}$/).map((tz) => ({ offset: 'timezone' as const, timezone: tz }))),
      lifecycle: fc.tuple(fc.constantFrom('destroy' as const, 'restart' as const, 'preserve' as const), fc.constantFrom('restart' as const, 'destroy' as const), fc.constantFrom('destroy' as const, 'coredump-restart' as const)),
      emulator: fc.option(hostPath, { nil: undefined }),
      disks,
      context: fc.option(fc.record({ file: hostPath, mode: fc.constantFrom('cdrom' as const, 'disk' as const) }), { nil: undefined }),
      interfaces: fc.array(nic, { maxLength: 3 }),
      serial: fc.option(fc.oneof(fc.constant(undefined), hostPath), { nil: null }),
      console: fc.boolean(),
    },
    { requiredKeys: ['type', 'name', 'memory', 'vcpu', 'grow', 'clock', 'lifecycle', 'disks', 'interfaces', 'console', 'serial', 'uuid', 'title', 'description', 'machine', 'kernel', 'boot', 'features', 'cpu', 'emulator', 'context'] },
  )
  .map((r): DomainSpec => {
    const spec: DomainSpec = {
      type: r.type,
      name: r.name,
      memory: r.memory,
      vcpu: r.vcpu,
      os: { arch: 'x86_64' },
      clock: r.clock,
      on_poweroff: r.lifecycle[0],
      on_reboot: r.lifecycle[1],
      on_crash: r.lifecycle[2],
      devices: {
        disks: r.disks,
        interfaces: r.interfaces,
        serials: r.serial === null ? [] : r.serial === undefined ? [{ type: 'pty', target: { port: 0 } }] : [{ type: 'file', source: { path: r.serial } }],
        consoles: r.console ? [{ type: 'pty', target: { type: 'serial', port: 0 } }] : [],
      },
    };
    if (r.grow !== undefined) {
      spec.currentMemory = { value: Math.max(1, Math.floor((r.memory.value * r.grow[0]) / 100)), unit: r.memory.unit };
      spec.currentVcpu = Math.min(r.vcpu, r.grow[1]);
    }
    if (r.uuid !== undefined) spec.uuid = r.uuid;
    if (r.title !== undefined) spec.title = r.title;
    if (r.description !== undefined) spec.description = r.description;
    if (r.machine !== undefined) spec.os.machine = r.machine;
    if (r.kernel !== undefined) Object.assign(spec.os, { kernel: r.kernel[0], initrd: r.kernel[1], cmdline: r.kernel[2] });
    if (r.boot !== undefined && r.kernel === undefined) spec.os.boot = [...r.boot];
    if (r.features !== undefined) spec.features = [...r.features];
    if (r.cpu !== undefined) spec.cpu = { mode: r.cpu };
    if (r.emulator !== undefined) spec.devices.emulator = r.emulator;
    if (r.context !== undefined) spec.devices.context = { source: { file: r.context.file }, mode: r.context.mode };
    return spec;
  });
