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
