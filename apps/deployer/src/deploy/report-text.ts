/**
 * The tables and lines `check`, `plan`, `deploy`, `status` and `destroy` print for people (`--json` prints the
 * reports themselves, every message whole). A controller's name is said once per line: its errors start with it.
 */
import type { VmctxError } from '@vmctx/contract';
import { connectionFix } from '../controller/connection.js';
import type { CheckReport } from './check.js';
import { withoutControllerName } from './controller-message.js';
import type { DeployReport } from './deploy.js';
import type { DestroyReport } from './destroy.js';
import type { StatusReport } from './status.js';
import { formatTable, wrapText } from './text-table.js';

export { formatTable };

/** `check`'s table fits 100 columns (its two-space indent included): long findings and fixes wrap in their cells. */
export const CHECK_TABLE_WIDTH = 100;

const MARK = { ok: 'ok', warning: 'WARN', error: 'FAIL' } as const;

/**
 * Per controller, a table of its findings: the first line of each message in the table, wrapped in its column; the
 * lines after it (a host key refusal's fingerprints, files and commands) below the table, under the object they
 * are about, commands unbroken so that they can be copied.
 */
export function formatCheckReport(report: CheckReport): string {
  const out: string[] = [];
  for (const c of report.controllers) {
    out.push(`${c.controller}: ${c.ok ? 'ready' : 'NOT READY'}\n`);
    const [firstLines, details] = [c.findings.map((f) => f.message.split('\n')[0]!), c.findings.filter((f) => f.message.includes('\n'))];
    const rows = c.findings.map((f, i) => [MARK[f.severity], f.object, firstLines[i]!, f.fix ?? '']);
    out.push(formatTable(['', 'object', 'finding', 'fix'], rows, CHECK_TABLE_WIDTH - 2).replace(/^(?=.)/gm, '  '));
    for (const f of details) out.push(`  ${f.object}:\n${detailLines(f.message.split('\n').slice(1), CHECK_TABLE_WIDTH - 4)}`);
  }
  out.push(report.ok ? `every controller is ready for ${report.deployment}\n` : `some controllers are not ready for ${report.deployment}\n`);
  return out.join('');
}

/** Lines indented by four: prose wrapped to `width`, indented lines (commands, file:line lists) as they are. */
function detailLines(lines: readonly string[], width: number): string {
  return lines.flatMap((line) => (/^\s/.test(line) ? [line] : wrapText(line, width))).map((line) => `    ${line}\n`).join('');
}

/** `lc1: MESSAGE [CODE]`, the name said once, and the fix of a connection failure on a line of its own. */
function errorLine(controller: string, error: Pick<VmctxError, 'message' | 'code'> & { fix?: string }, prefix = ''): string {
  const fix = error.fix ?? connectionFix(error);
  return `${controller}: ${prefix}${withoutControllerName(controller, error.message)} [${error.code}]\n${fix === undefined ? '' : `  fix: ${fix}\n`}`;
}

export function formatDeployReport(report: DeployReport): string {
  const out: string[] = [];
  const rows: string[][] = [];
  for (const c of report.controllers) {
    for (const v of c.vms) {
      const what = v.status === 'failed' ? (v.left && v.left.length > 0 ? `failed, left: ${v.left.join(', ')}` : 'failed, nothing left') : v.status;
      rows.push([v.vm, v.controller, what, v.state ?? '-', v.contextualized ? 'yes' : v.contextualized === false ? 'at next boot' : v.status === 'failed' ? '-' : 'not waited', v.address ?? '-']);
    }
  }
  out.push(formatTable(['VM', 'controller', 'result', 'state', 'contextualized', 'address'], rows));
  for (const c of report.controllers) {
    if (c.error) out.push(errorLine(c.controller, c.error));
    for (const f of c.refused ?? []) out.push(`${c.controller}: ${f.object}: ${f.message}${f.fix ? ` (fix: ${f.fix})` : ''} [${f.code}]\n`);
    for (const v of c.vms) if (v.error && !c.error && !c.refused) out.push(`${c.controller}/${v.vm}: ${withoutControllerName(c.controller, v.error.message)} [${v.error.code}]\n`);
    for (const v of c.vms) if (v.note) out.push(`${c.controller}/${v.vm}: ${v.note}\n`);
    for (const p of c.pruned) out.push(`${c.controller}: pruned ${p} (no longer in the file)\n`);
    const bytes = c.uploaded.reduce((s, u) => s + u.bytes, 0);
    if (c.uploaded.length > 0) out.push(`${c.controller}: uploaded ${c.uploaded.length} file(s), ${bytes} bytes\n`);
  }
  const failed = report.controllers.flatMap((c) => c.vms).filter((v) => v.status === 'failed').length;
  const total = report.controllers.flatMap((c) => c.vms).length;
  out.push(report.ok ? `${report.deployment}: ${total} VM(s) deployed in ${(report.elapsedMs / 1000).toFixed(1)} s\n` : `${report.deployment}: ${failed} of ${total} VM(s) failed\n`);
  return out.join('');
}

const SIGN = { create: '+', update: '~', recontextualize: '~', replace: '~', unchanged: '=', orphan: '!', prune: '-', held: 'x' } as const;

/** `plan` (and `deploy --dry-run`): per controller, each VM's step with its reasons, and the uploads. */
export function formatPlan(report: DeployReport): string {
  const out: string[] = [];
  for (const c of report.controllers) {
    if (c.error) {
      out.push(errorLine(c.controller, c.error, 'cannot plan: '));
      continue;
    }
    if (c.refused) {
      out.push(`${c.controller}: preflight failed; nothing would be written there\n`);
      for (const f of c.refused) out.push(`  FAIL ${f.object}: ${f.message}${f.fix ? ` (fix: ${f.fix})` : ''} [${f.code}]\n`);
      continue;
    }
    out.push(`${c.controller}:\n`);
    for (const s of c.plan!.steps) {
      out.push(`  ${SIGN[s.action]} ${s.action.padEnd(9)} ${s.vm}${s.reasons.length > 0 && s.action !== 'create' ? `: ${s.reasons.join('; ')}` : ''}\n`);
      // Said in plain words wherever a replace is shown: the guest's data goes with its disk.
      if (s.live && s.live.length > 0) out.push(`              applied live: ${s.live.join('; ')}\n`);
      if (s.restartNeeded && s.restartNeeded.length > 0) {
        out.push(`              needs a restart: ${s.restartNeeded.join('; ')} (${s.restart ? 'deploy restarts it: restart when-needed' : 'deploy leaves it running: restart never'})\n`);
      }
      if (s.diskLoss) out.push(`              ${s.action === 'held' ? 'not done: it would make' : 'makes'} its disk ${s.lostDisk} anew: what the guest wrote there is lost${s.action === 'held' ? '' : ' (deploy asks first, or needs --allow-disk-loss)'}\n`);
    }
    for (const u of c.plan!.uploads) out.push(u.from ? `  ↓ fetch     ${u.path} (${u.bytes} bytes) from ${u.from}, by the controller\n` : `  ↑ upload    ${u.path} (${u.bytes} bytes)\n`);
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
      out.push(errorLine(c.controller, c.error));
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
  const errors = report.errors.map((e) => errorLine(e.controller, e)).join('');
  return formatTable(['VM', 'controller', 'state', 'address', 'artifacts'], rows) + errors;
}
