/**
 * Waiting for a guest to say it was contextualized. guest-script's boot script logs to the console
 * ("vmctx: ... post-install done", or "... falling back to DHCP" without a context CD), cloud-init its
 * "Cloud-init v. X finished at" line; the domain's console
 * is logged to a file on the controller (artifacts/console-log.ts), which one channel follows with `tail -F`
 * until the line appears. `timeout` bounds the remote tail, so nothing is left running on the controller if
 * the channel drops.
 */
import { VmctxError } from '@vmctx/contract';
import type { ControllerConnection } from '../controller/connection.js';
import { DeployerError } from '../errors.js';
import { FILE_STATE_SH } from '../sh/sh.generated.js';

/**
 * A stock cloud image has no vmctx script (issue 20): cloud-init reads the CD's NoCloud seed, and its final stage
 * prints "Cloud-init v. 22.4.2 finished at DATE. Datasource DataSourceNoCloud [seed=/dev/sr0][dsmode=net].  Up 38.66
 * seconds" on the console (cc_final_message, cloud-final.service's StandardOutput=journal+console) once the seed's
 * files, keys and scripts (runcmd) are done, at every boot; its earlier stages print "running", not "finished". On an
 * image with both readers vmctx's script stands down for cloud-init, and this line is the one to wait for too.
 *
 * What guest-script prints when it is done, either way: its post-install ran, it fell back to DHCP, or (a guest
 * started again, whose console log begins anew) the context was applied at an earlier boot and only its network is
 * brought up. Without the last, `deploy --wait` spent its whole timeout on a VM that was only restarted (issue 24).
 */
export const CONTEXTUALIZED = /vmctx: [^\n]*(post-install done[^\n]*|falling back to DHCP|is already contextualized[^\n]*)|Cloud-init v\. \S+ finished at [^\n]*/;

const MAX_CONSOLE_CHARS = 1024 * 1024;

export interface ContextualizedResult {
  /** The line the guest printed. */
  line: string;
  /** The guest's address when it said one ("address A/P on eth0", "address A read from the MAC"). */
  address?: string;
}

export async function waitForContextualized(connection: ControllerConnection, vm: string, consoleLog: string, timeoutMs: number): Promise<ContextualizedResult> {
  const seconds = Math.ceil(timeoutMs / 1000);
  const lc = connection.controller.name;
  return connection.withChannel(['timeout', String(seconds), 'tail', '-n', '+1', '-F', '--', consoleLog], (channel) =>
    new Promise<ContextualizedResult>((resolve, reject) => {
      let text = '';
      let settled = false;
      const timer = setTimeout(() => finish(new DeployerError('DEPLOY_WAIT_TIMEOUT', `${lc}: ${vm} is running but did not say it was contextualized within ${seconds} s (console log ${consoleLog}); it is left running`, { where: `${lc}/${vm}` })), timeoutMs + 2000);
      const finish = (outcome: ContextualizedResult | VmctxError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        channel.close();
        if (outcome instanceof VmctxError) reject(outcome);
        else resolve(outcome);
      };
      channel.stderr.resume();
      channel.on('data', (chunk: Buffer) => {
        // A chatty console must not grow without bound: the lines that matter are recent.
        text = (text + chunk.toString('utf8')).slice(-MAX_CONSOLE_CHARS);
        const match = CONTEXTUALIZED.exec(text);
        if (!match) return;
        const address = /vmctx: [^\n]*address (\d+\.\d+\.\d+\.\d+)/.exec(text)?.[1];
        finish({ line: match[0], ...(address ? { address } : {}) });
      });
      channel.on('close', () =>
        finish(new DeployerError('DEPLOY_WAIT_TIMEOUT', `${lc}: ${vm} is running but did not say it was contextualized within ${seconds} s (console log ${consoleLog}); it is left running`, { where: `${lc}/${vm}` })),
      );
    }),
  );
}

/**
 * What guest-script prints when it re-applies a context CD swapped into the running guest (packages/guest-script,
 * contextualization/reapply.sh and apply_instance): "instance NEW replaces OLD: applying it without a reboot", the
 * boot's own lines, then "post-install done (instance NEW)"; "instance ID is already contextualized; the new medium
 * changes nothing" when the CD's id is the applied one. Either way the guest runs the new context.
 */
export const REAPPLIED = /vmctx: [^\n]*(post-install done \(instance [^)\n]*\)|instance \S+ is already contextualized; the new medium changes nothing)/;

/**
 * What it prints when it does not apply it now: cloud-init's CD (applied at the next boot only), a medium without
 * a context or a post-install, a post-install that failed or ran out of time (run again at the next boot).
 */
export const NOT_REAPPLIED = /vmctx: [^\n]*(cloud-init applies an edited context at its next boot only|no context CD on the new medium[^\n]*|has no post-install; nothing applied|no folder to mount the CD on|post-install failed with status \d+|post-install stopped after \d+s)/;

export type ReapplyResult = { applied: true; line: string; address?: string } | { applied: false; why: string };

/**
 * After a context CD was swapped into a running domain: what its guest said of it on the console, read from `fromByte`
 * (the log's size before the swap: a console log only grows while the domain runs, and what is after that offset is
 * this swap's). No answer within the timeout (an image without the live re-apply, a cloud-init guest that says
 * nothing) is an answer too: the guest applies the CD at its next boot. Never an error of its own.
 */
export async function waitForReapply(connection: ControllerConnection, consoleLog: string, fromByte: number, timeoutMs: number): Promise<ReapplyResult> {
  const seconds = Math.ceil(timeoutMs / 1000);
  const silent: ReapplyResult = { applied: false, why: `it said nothing of it on its console within ${seconds} s` };
  return connection
    .withChannel(['timeout', String(seconds), 'tail', '-c', `+${fromByte + 1}`, '-F', '--', consoleLog], (channel) =>
      new Promise<ReapplyResult>((resolve) => {
        let text = '';
        let settled = false;
        const finish = (result: ReapplyResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          channel.close();
          resolve(result);
        };
        const timer = setTimeout(() => finish(silent), timeoutMs + 2000);
        channel.stderr.resume();
        channel.on('data', (chunk: Buffer) => {
          text = (text + chunk.toString('utf8')).slice(-MAX_CONSOLE_CHARS);
          const done = REAPPLIED.exec(text);
          if (done) {
            const address = /vmctx: [^\n]*address (\d+\.\d+\.\d+\.\d+)/.exec(text)?.[1];
            finish({ applied: true, line: done[0], ...(address ? { address } : {}) });
            return;
          }
          const not = NOT_REAPPLIED.exec(text);
          if (not) finish({ applied: false, why: `it said "${not[0].replace(/^vmctx: /, '')}"` });
        });
        channel.on('close', () => finish(silent));
      }),
    )
    .catch((error: Error) => ({ applied: false, why: `its console log could not be read (${error.message})` }));
}

/**
 * Whether the running guest's console shows cloud-init alone: its "finished" line (CONTEXTUALIZED), and not the line
 * vmctx's script prints at each of its boots ("vmctx: contextualization starts"; the CD's runner, which cloud-init's
 * runcmd runs, prints other "vmctx:" lines). Nothing in such a guest watches the CD drive: cloud-init reads a new
 * seed at its next boot only, so a swapped CD is known in advance not to be applied live, and waiting for a re-apply
 * would spend the whole --timeout on a silence. A guest with vmctx's script is waited for as before: it re-applies,
 * or stands down for cloud-init and says so.
 */
export async function showsCloudInitOnly(connection: ControllerConnection, consoleLog: string): Promise<boolean> {
  // grep exits 1 when nothing matches and 2 when the log is not there: neither is cloud-init's word.
  const result = await connection.exec(['grep', '-E', '-o', '-m', '64', '--', 'vmctx: contextualization starts|Cloud-init v\\. [^ ]+ finished at', consoleLog]);
  const lines = result.code === 0 ? result.stdout.split('\n') : [];
  return lines.some((l) => l.startsWith('Cloud-init')) && !lines.some((l) => l.startsWith('vmctx:'));
}

/** Why a cloud-init-only guest did not apply a swapped CD live (showsCloudInitOnly). */
export const CLOUD_INIT_ONLY: ReapplyResult = { applied: false, why: 'its console shows cloud-init alone, which reads a new seed at its next boot only' };

/** The console log's size in bytes now (0 when it is not there yet): where a wait for what comes next starts. */
export async function consoleLogSize(connection: ControllerConnection, consoleLog: string): Promise<number> {
  // sh/file-state.sh: "READABLE SIZE", or exit 9 when there is no such file.
  const result = await connection.exec(['sh', '-c', FILE_STATE_SH, 'vmctx-file-state', consoleLog]);
  const size = Number(result.stdout.trim().split(' ')[1]);
  return result.code === 0 && Number.isSafeInteger(size) ? size : 0;
}
