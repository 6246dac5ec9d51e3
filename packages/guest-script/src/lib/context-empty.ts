/**
 * An empty context: one that gives the guest nothing to do. Its CD is valid (post-install then falls back to DHCP
 * and configures nothing else), but an empty file, a file that is only `null` or `{}`, or a context that names
 * nothing but its instance id is far more often a mistake (the wrong file, a template not filled in) than a wish:
 * readers of a context file refuse it unless told that it is meant (`vmctx context --allow-empty`).
 */
import type { Context } from './context.js';
import { GuestScriptError } from './errors.js';

/** Whether the context configures nothing: no host name, network, SSH keys, files or scripts (an instance id alone does nothing). */
export function contextIsEmpty(context: Context): boolean {
  return context.hostname === undefined && context.network === undefined && context.ssh === undefined && context.files.length === 0 && context.scripts.length === 0 && context.cloudInit === undefined;
}

/** Refuses an empty context (GUEST_EMPTY_CONTEXT, an input error), saying how to write it anyway. */
export function refuseEmptyContext(context: Context, source: string): void {
  if (!contextIsEmpty(context)) return;
  throw new GuestScriptError(
    'GUEST_EMPTY_CONTEXT',
    `${source}: the context is empty: no hostname, network, ssh, files or scripts, so its CD would only make the guest fall back to DHCP; ` +
      'if that is meant, allow an empty context (vmctx context: --allow-empty)',
    source,
  );
}
