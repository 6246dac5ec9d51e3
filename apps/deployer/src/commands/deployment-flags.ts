/**
 * The flags every deployment command takes (deployment-command.ts declares them), on their own: both the light
 * command definitions and the heavy run (deployment-prepare.ts) read them.
 */
export interface DeploymentFlags {
  file: string;
  sshConfig?: string;
  acceptNew?: boolean;
  cache?: string;
  json?: boolean;
  quiet?: boolean;
}

/** `--replace VM`, repeatable (plan and deploy): each VM named is made anew, as a changed base image makes it. */
export function collectReplace(vm: string, previous: string[]): string[] {
  return [...previous, vm];
}
