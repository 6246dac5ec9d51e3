/** The tables `check` and `deploy` print for people (`--json` prints the reports themselves). */
import type { CheckReport } from './check.js';
import type { DeployReport } from './deploy.js';

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const MARK = { ok: 'ok', warning: 'WARN', error: 'FAIL' } as const;

export function formatCheckReport(report: CheckReport): string {
  const out: string[] = [];
  for (const c of report.controllers) {
    out.push(`${c.controller}: ${c.ok ? 'ready' : 'NOT READY'}\n`);
    out.push(
      formatTable(
        ['', 'object', 'finding', 'fix'],
        c.findings.map((f) => [MARK[f.severity], f.object, f.message, f.fix ?? '']),
      ).replace(/^(?=.)/gm, '  '),
    );
  }
  out.push(report.ok ? `every controller is ready for ${report.deployment}\n` : `some controllers are not ready for ${report.deployment}\n`);
  return out.join('');
}

export function formatDeployReport(report: DeployReport): string {
  const out: string[] = [];
  const rows: string[][] = [];
  for (const c of report.controllers) {
    for (const v of c.vms) {
      const what = v.status === 'failed' ? (v.left && v.left.length > 0 ? `failed, left: ${v.left.join(', ')}` : 'failed, nothing left') : v.status;
      rows.push([v.vm, v.controller, what, v.state ?? '-', v.contextualized ? 'yes' : v.status === 'failed' ? '-' : 'not waited', v.address ?? '-']);
    }
  }
  out.push(formatTable(['VM', 'controller', 'result', 'state', 'contextualized', 'address'], rows));
  for (const c of report.controllers) {
    if (c.error) out.push(`${c.controller}: ${c.error.message} [${c.error.code}]\n`);
    for (const f of c.refused ?? []) out.push(`${c.controller}: ${f.object}: ${f.message}${f.fix ? ` (fix: ${f.fix})` : ''} [${f.code}]\n`);
    for (const v of c.vms) if (v.error && !c.error && !c.refused) out.push(`${c.controller}/${v.vm}: ${v.error.message} [${v.error.code}]\n`);
    const bytes = c.uploaded.reduce((s, u) => s + u.bytes, 0);
    if (c.uploaded.length > 0) out.push(`${c.controller}: uploaded ${c.uploaded.length} file(s), ${bytes} bytes\n`);
  }
  const failed = report.controllers.flatMap((c) => c.vms).filter((v) => v.status === 'failed').length;
  const total = report.controllers.flatMap((c) => c.vms).length;
  out.push(report.ok ? `${report.deployment}: ${total} VM(s) deployed in ${(report.elapsedMs / 1000).toFixed(1)} s\n` : `${report.deployment}: ${failed} of ${total} VM(s) failed\n`);
  return out.join('');
}
