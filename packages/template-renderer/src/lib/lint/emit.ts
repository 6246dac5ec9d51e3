/**
 * How a rule reports: `emit` records one finding for the domain being linted, with its severity and fix from the
 * catalogue; `Facts` is what each domain's lint keeps for the checks across domains (lintTogether).
 */
import { LINTS, type LintCode, type LintFinding } from './catalogue.js';

/** What lintTogether compares across domains: each one's name, uuid and MACs. */
export interface Facts {
  label: string;
  name?: string;
  uuid?: string;
  macs: { mac: string; path: string }[];
}

export type Emit = (code: LintCode, path: string, message: string, libvirt: string | undefined, when: LintFinding['when']) => void;

export function emitter(findings: LintFinding[], label: string): Emit {
  return (code, path, message, libvirt, when) =>
    findings.push({ code, severity: LINTS[code].severity, label, path, message, ...(libvirt !== undefined ? { libvirt } : {}), when, fix: LINTS[code].fix });
}
