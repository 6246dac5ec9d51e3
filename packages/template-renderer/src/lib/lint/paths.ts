/**
 * Host paths a domain names outside its disks: the kernel, initrd and emulator, and the log files of serial ports
 * and consoles, held to the rule a spec's paths follow.
 */
import { hostPathSchema } from '../spec.js';
import { elements, firstElement, getAttr, textOf, type XmlElement } from '../xml-tree.js';
import type { Emit } from './emit.js';

/** The kernel, initrd and emulator: present but empty, or not a path a spec could hold. */
export function lintBinaries(root: XmlElement, emit: Emit): void {
  const os = firstElement(root, 'os');
  for (const what of ['kernel', 'initrd'] as const) {
    const el = os && firstElement(os, what);
    if (el && textOf(el).trim() === '') {
      emit('empty-path', `/domain/os/${what}`, `<${what}> is empty`, undefined, 'start');
    } else if (el) {
      lintPath(textOf(el), what, `/domain/os/${what}`, emit);
    }
  }
  const devices = firstElement(root, 'devices');
  const emulator = devices && firstElement(devices, 'emulator');
  if (emulator && textOf(emulator) !== '') {
    const binary = textOf(emulator);
    // libvirt's qemu driver stats the binary at define (virQEMUCapsNewForBinaryInternal), from its working directory.
    lintPath(binary, 'emulator', '/domain/devices/emulator', emit, `Cannot check QEMU binary ${binary}: No such file or directory`);
  }
}

/**
 * A path in the template held to the rule a spec's paths and import's --disk, --iso and --emulator follow
 * (spec.ts hostPathSchema): absolute, not "/" alone, no control character. `libvirt` is what libvirt says at
 * define when it refuses it there (the emulator); other paths fail when the domain starts.
 */
export function lintPath(value: string, what: string, path: string, emit: Emit, libvirt?: string): void {
  const result = hostPathSchema(what).safeParse(value);
  if (result.success) return;
  emit('invalid-path', path, `${what} ${JSON.stringify(value)}: ${result.error.issues[0]!.message}`, libvirt, libvirt === undefined ? 'start' : 'define');
}

/** A serial port or console of type file: a log path, present and held to the same rule. */
export function lintChardevs(devices: XmlElement, emit: Emit): void {
  for (const kind of ['serial', 'console'] as const) {
    elements(devices, kind).forEach((chr, i) => {
      if (getAttr(chr, 'type') !== 'file') return;
      const path = `/domain/devices/${kind}[${i + 1}]`;
      const source = firstElement(chr, 'source');
      const file = source ? getAttr(source, 'path') : undefined;
      if (file === undefined) {
        emit('empty-path', `${path}/source`, `${kind} type='file' has no source path`, 'internal error: Missing source path attribute for char device', 'define');
      } else if (file.trim() === '') {
        emit('empty-path', `${path}/source`, `${kind} type='file' has an empty source path`, undefined, 'start');
      } else {
        lintPath(file, `${kind} log path`, `${path}/source`, emit);
      }
    });
  }
}
