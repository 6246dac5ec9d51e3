/**
 * What a running check or deploy tells its reporter: per controller and per VM, with upload bytes. The
 * reporter decides how it looks (a live block on a TTY, plain lines otherwise, nothing with --json).
 */
export type DeployEvent =
  | { type: 'controller'; controller: string; phase: 'connecting' | 'checking' | 'uploading' | 'deploying' | 'done' | 'failed' | 'skipped'; message?: string }
  | { type: 'upload'; controller: string; file: string; sent: number; total: number; done?: boolean }
  | {
      type: 'vm';
      controller: string;
      vm: string;
      phase: 'unchanged' | 'updating' | 'updated' | 'restarting' | 'replacing' | 'pruning' | 'destroying' | 'defining' | 'starting' | 'running' | 'waiting' | 'contextualized' | 'failed' | 'undone';
      message?: string;
    }
  | { type: 'note'; controller?: string; message: string };

export type EventSink = (event: DeployEvent) => void;

export const ignoreEvents: EventSink = () => undefined;
