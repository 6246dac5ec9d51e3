/** The tables `check` and `deploy` print for people (`--json` prints the reports themselves). */
import type { CheckReport } from './check.js';
import type { DeployReport } from './deploy.js';
import type { DestroyReport } from './destroy.js';
import type { StatusReport } from './status.js';

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
    for (const p of c.pruned) out.push(`${c.controller}: pruned ${p} (no longer in the file)\n`);
    const bytes = c.uploaded.reduce((s, u) => s + u.bytes, 0);
    if (c.uploaded.length > 0) out.push(`${c.controller}: uploaded ${c.uploaded.length} file(s), ${bytes} bytes\n`);
  }
  const failed = report.controllers.flatMap((c) => c.vms).filter((v) => v.status === 'failed').length;
  const total = report.controllers.flatMap((c) => c.vms).length;
  out.push(report.ok ? `${report.deployment}: ${total} VM(s) deployed in ${(report.elapsedMs / 1000).toFixed(1)} s\n` : `${report.deployment}: ${failed} of ${total} VM(s) failed\n`);
  return out.join('');
}

const SIGN = { create: '+', replace: '~', unchanged: '=', orphan: '!', prune: '-' } as const;

/** `plan` (and `deploy --dry-run`): per controller, each VM's step with its reasons, and the uploads. */
export function formatPlan(report: DeployReport): string {
  const out: string[] = [];
  for (const c of report.controllers) {
    if (c.error) {
      out.push(`${c.controller}: cannot plan: ${c.error.message} [${c.error.code}]\n`);
      continue;
    }
    if (c.refused) {
      out.push(`${c.controller}: preflight failed; nothing would be written there\n`);
      for (const f of c.refused) out.push(`  FAIL ${f.object}: ${f.message}${f.fix ? ` (fix: ${f.fix})` : ''} [${f.code}]\n`);
      continue;
    }
    out.push(`${c.controller}:\n`);
    for (const s of c.plan!.steps) out.push(`  ${SIGN[s.action]} ${s.action.padEnd(9)} ${s.vm}${s.reasons.length > 0 && s.action !== 'create' ? `: ${s.reasons.join('; ')}` : ''}\n`);
    for (const u of c.plan!.uploads) out.push(`  ↑ upload    ${u.path} (${u.bytes} bytes)\n`);
  }
  const failed = report.controllers.filter((c) => c.error || c.refused).length;
  if (failed > 0) out.push(`${report.deployment}: ${failed} controller(s) could not be planned; the plan is incomplete${report.changes ? ' (and has changes)' : ''}\n`);
  else out.push(report.changes ? `${report.deployment}: changes to apply (vmctx deploy)\n` : `${report.deployment}: no changes\n`);
  return out.join('');
}

export function formatDestroy(report: DestroyReport): string {
  const out: string[] = [];
  const verb = report.dryRun ? 'would remove' : 'removed';
  for (const c of report.controllers) {
    if (c.error) {
      out.push(`${c.controller}: ${c.error.message} [${c.error.code}]\n`);
      continue;
    }
    if (c.domains.length === 0 && c.files.length === 0) {
      out.push(`${c.controller}: nothing of ${report.deployment}\n`);
      continue;
    }
    out.push(`${c.controller}: ${verb} ${c.domains.length} domain(s)${c.domains.length ? ` (${c.domains.join(', ')})` : ''} and ${c.files.length} file(s)\n`);
    for (const f of c.files) out.push(`  ${f}\n`);
    for (const k of c.kept) out.push(`  kept ${k}\n`);
    for (const l of c.left) out.push(`  LEFT ${l}\n`);
  }
  return out.join('');
}

export function formatStatus(report: StatusReport): string {
  const rows = report.vms.map((v) => [v.vm, v.controller, v.state, v.address ?? '-', v.drift.length === 0 ? 'in sync' : v.drift.join('; ')]);
  const errors = report.errors.map((e) => `${e.controller}: ${e.message} [${e.code}]\n`).join('');
  return formatTable(['VM', 'controller', 'state', 'address', 'artifacts'], rows) + errors;
}
