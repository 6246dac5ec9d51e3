/**
 * Lints: what `virsh define` or `virsh start` would refuse, found before anything reaches a controller.
 * Each finding has a stable `code`, libvirt's own words where libvirt has any (`libvirt`, as virsh prints it
 * after "error: "), when libvirt would say it (`when`), and a `fix`.
 *
 * This module lints each domain (its name, uuid, clock and CPU here) and then the set; the catalogue of findings
 * is lint/catalogue.ts, and the rules by what they check are lint/disks.ts, lint/machine.ts, lint/interfaces.ts,
 * lint/paths.ts (kernel, emulator, log files) and lint/together.ts (across domains).
 */
import { domainNameProblem } from './domain-name.js';
import { domainArch } from './domain-xml.js';
import { shellRiskyNameProblem } from './lint-shell-name.js';
import type { LintFinding } from './lint/catalogue.js';
import { lintDisks } from './lint/disks.js';
import { emitter, type Emit, type Facts } from './lint/emit.js';
import { lintInterfaces } from './lint/interfaces.js';
import { lintMachine } from './lint/machine.js';
import { lintBinaries, lintChardevs } from './lint/paths.js';
import { lintTogether, type ExistingDomain } from './lint/together.js';
import { renderDomainTree, type RenderOptions } from './render.js';
import type { DomainSpec } from './spec.js';
import { firstElement, getAttr, parseXml, textOf, type XmlElement } from './xml-tree.js';

export { LINTS, type LintCode, type LintFinding, type LintSeverity } from './lint/catalogue.js';
export type { ExistingDomain } from './lint/together.js';

export type Lintable = { label: string } & ({ xml: string | XmlElement } | { spec: DomainSpec });

export interface LintOptions extends RenderOptions {
  existing?: ExistingDomain[];
}

/** Lints a set of domains meant to be defined together (a deployment), and each on its own. */
export function lintDomains(items: readonly Lintable[], options: LintOptions = {}): LintFinding[] {
  const findings: LintFinding[] = [];
  const facts = items.map((item) => {
    const emit = emitter(findings, item.label);
    let root: XmlElement;
    if ('spec' in item) {
      lintSpecOnly(item.spec, emit);
      root = renderDomainTree(item.spec, options);
    } else {
      root = typeof item.xml === 'string' ? parseXml(item.xml, item.label) : item.xml;
    }
    return lintOne(root, item.label, emit);
  });
  lintTogether(facts, options.existing ?? [], findings);
  return findings;
}

/** Lints one domain XML document on its own. */
export function lintDomainXml(xml: string | XmlElement, label = 'template'): LintFinding[] {
  return lintDomains([{ label, xml }]);
}

/** What only a spec knows: the overlay's backing file, which render does not write. */
function lintSpecOnly(spec: DomainSpec, emit: Emit): void {
  spec.devices.disks.forEach((disk, i) => {
    if (disk.driver.type === 'qcow2' && disk.backing && disk.backing.format === undefined) {
      emit(
        'backing-format-missing',
        `devices.disks[${i}].backing`,
        `overlay ${disk.source.file} names backing file ${disk.backing.file ?? '(unknown)'} without its format; libvirt will not guess it (it could be told to open a raw image as qcow2)`,
        `format of backing image '${disk.backing.file ?? ''}' of image '${disk.source.file}' was not specified in the image metadata (See https://libvirt.org/kbase/backing_chains.html for troubleshooting)`,
        'start',
      );
    }
  });
}

function lintOne(root: XmlElement, label: string, emit: Emit): Facts {
  const facts: Facts = { label, macs: [] };
  const nameEl = firstElement(root, 'name');
  const name = nameEl ? textOf(nameEl) : undefined;
  if (name === undefined || name.trim() === '') {
    emit('invalid-name', '/domain/name', 'the domain has no name', 'missing name information', 'define');
  } else {
    facts.name = name.trim();
    if (facts.name.includes('/')) {
      emit('invalid-name', '/domain/name', `name ${JSON.stringify(facts.name)} contains '/'`, `XML error: name ${facts.name} cannot contain '/'`, 'define');
    } else {
      const problem = domainNameProblem(name);
      if (problem) emit('risky-name', '/domain/name', problem, undefined, 'never');
      const shell = shellRiskyNameProblem(facts.name);
      if (shell) emit('shell-risky-name', '/domain/name', shell, undefined, 'never');
    }
  }
  const uuidEl = firstElement(root, 'uuid');
  if (uuidEl) {
    const uuid = textOf(uuidEl).trim();
    // libvirt's virUUIDParse also takes 32 hex digits without dashes (and dashes anywhere between pairs).
    if (!/^([0-9a-fA-F]{2}-?){15}[0-9a-fA-F]{2}$/.test(uuid)) {
      emit('invalid-uuid', '/domain/uuid', `uuid ${JSON.stringify(uuid)} is not a UUID`, 'internal error: malformed uuid element', 'define');
    } else {
      facts.uuid = uuid.replace(/-/g, '').toLowerCase();
    }
  }
  const clock = firstElement(root, 'clock');
  if (clock && getAttr(clock, 'sync') !== undefined) {
    emit(
      'clock-sync-attribute',
      '/domain/clock',
      `<clock sync='${getAttr(clock, 'sync')}'> is not libvirt XML: libvirt ignores it (the clock stays ${getAttr(clock, 'offset') ?? 'utc'}) and virt-xml-validate refuses it`,
      undefined,
      'never',
    );
  }
  const cpu = firstElement(root, 'cpu');
  if (cpu && getAttr(root, 'type') === 'qemu' && getAttr(cpu, 'mode') === 'host-passthrough') {
    const arch = domainArch(root) ?? 'x86_64';
    emit(
      'cpu-needs-kvm',
      '/domain/cpu',
      'host-passthrough needs KVM; a TCG domain has no host CPU to pass through',
      `unsupported configuration: CPU mode 'host-passthrough' for ${arch} qemu domain on ${arch} host is not supported by hypervisor`,
      'start',
    );
  }
  lintBinaries(root, emit);
  lintMachine(root, emit);
  const devices = firstElement(root, 'devices');
  if (devices) {
    lintDisks(devices, emit);
    lintInterfaces(devices, emit, facts);
    lintChardevs(devices, emit);
  }
  return facts;
}

/** True when any finding is an error (what `vmctx template lint` exits non-zero on). */
export function hasErrors(findings: readonly LintFinding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

/** One finding as people read it. */
export function formatFinding(f: LintFinding): string {
  const lines = [`${f.severity} ${f.code}: ${f.label} ${f.path}: ${f.message}`];
  if (f.libvirt !== undefined) lines.push(`  libvirt (at ${f.when}): ${f.libvirt}`);
  lines.push(`  fix: ${f.fix}`);
  return lines.join('\n');
}
