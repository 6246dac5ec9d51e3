/**
 * What the rest of the config code needs from the caller and the environment, and where it puts problems.
 */
import type { SshConfig } from './ssh-config.js';
import type { Problems } from './problems.js';

export interface LoadOptions {
  /** Default: `~/.ssh/config`. */
  sshConfigPath?: string;
  /** Where `~` points. Default: `env.HOME`, else the OS's home of the current user. */
  homeDir?: string;
  /** Default: `process.env`. Read for HOME and, where the OS cannot say who runs this, USER. */
  env?: NodeJS.ProcessEnv;
}

export interface ResolveContext {
  /** The file as given, for messages. */
  file: string;
  /** The file's folder, absolute: relative paths are taken from it. */
  baseDir: string;
  homeDir: string;
  /** ssh's default remote user: the local one. */
  localUser: string;
  sshConfig: SshConfig | undefined;
  problems: Problems;
}
