// Runnable example: `npx tsc -b packages/template-renderer/tsconfig.lib.json && node packages/template-renderer/examples/quickstart.mjs`
// (from the repository root). Renders a spec, imports the seed's template, and lints both together.
import { readFileSync } from 'node:fs';
import { formatFinding, importNativeTemplate, lintDomains, parseDomainSpec, renderDomainXml } from '@vmctx/template-renderer';

const spec = parseDomainSpec(
  {
    type: 'qemu',
    name: 'web1',
    memory: { value: 512, unit: 'MiB' },
    os: { machine: 'q35', kernel: '/var/lib/vmctx/boot/vmlinuz', initrd: '/var/lib/vmctx/boot/initrd.img', cmdline: 'console=ttyS0 root=/dev/vda' },
    devices: {
      disks: [
        {
          driver: { type: 'qcow2' },
          source: { file: '/var/lib/vmctx/images/web1.qcow2' },
          target: { dev: 'vda', bus: 'virtio' },
          backing: { file: '/var/lib/vmctx/images/debian-base.raw', format: 'raw' },
        },
      ],
      context: { source: { file: '/var/lib/vmctx/images/context.iso' } },
      interfaces: [{ type: 'bridge', source: { bridge: 'virbr0' }, model: { type: 'virtio' } }],
      serials: [{ type: 'file', source: { path: '/var/lib/vmctx/images/web1.serial.log' } }],
    },
  },
  'vms[0]',
);
console.log(renderDomainXml(spec, { deployment: 'lab' }));

const seed = readFileSync(new URL('../fixtures/native/debian1.xml', import.meta.url), 'utf8');
const { xml, warnings } = importNativeTemplate(seed, {
  name: 'debian7',
  deployment: 'lab',
  disks: ['/var/lib/vmctx/images/debian7.qcow2'],
  iso: '/var/lib/vmctx/images/context.iso',
  bridge: 'virbr0',
  domainType: 'qemu',
});
for (const w of warnings) console.error(`repaired (${w.code}): ${w.message}`);
console.log(xml);

const findings = lintDomains(
  [
    { label: 'vms[0]', spec },
    { label: 'debian7.xml', xml },
  ],
  { deployment: 'lab', existing: [{ name: 'debian7', uuid: '11111111-2222-3333-4444-555555555555' }] },
);
for (const f of findings) console.error(formatFinding(f));
