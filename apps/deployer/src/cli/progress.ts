/**
 * How a check or deploy shows its progress on stderr: on a TTY, a live block with one line per controller and
 * per VM (upload bytes and rate included), redrawn at most ten times a second; otherwise (CI, a pipe) one
 * plain line per step, and one line per finished upload with its size and rate.
 */
import type { DeployEvent, EventSink } from '../deploy/events.js';
import { byteSize } from '../util/byte-size.js';

export interface ProgressOptions {
  write: (text: string) => void;
  tty: boolean;
  /** Nothing but notes and failures (--quiet). */
  quiet?: boolean;
  now?: () => number;
}

export interface Progress {
  sink: EventSink;
  /** Stops redrawing and leaves the last block on screen. */
  stop: () => void;
  /**
   * Leaves what is on screen as it is, and starts the next block below it: for a question asked meanwhile, which
   * a redraw would otherwise wipe (it moves up over the block drawn before).
   */
  release: () => void;
}

export function createProgress(options: ProgressOptions): Progress {
  return options.tty ? liveProgress(options) : plainProgress(options);
}

function plainProgress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const uploadStarted = new Map<string, number>();
  const sink: EventSink = (e) => {
    if (options.quiet && !(e.type === 'note' || (e.type !== 'upload' && e.phase === 'failed'))) return;
    switch (e.type) {
      case 'controller':
        options.write(`${e.controller}: ${e.phase}${e.message ? `: ${e.message}` : ''}\n`);
        break;
      case 'vm':
        options.write(`${e.controller}/${e.vm}: ${e.phase}${e.message ? `: ${e.message}` : ''}\n`);
        break;
      case 'upload': {
        const key = `${e.controller}:${e.file}`;
        if (!uploadStarted.has(key)) uploadStarted.set(key, now());
        if (e.done) options.write(`${e.controller}: uploaded ${e.file} (${byteSize(e.total)}, ${rate(e.total, now() - uploadStarted.get(key)!)})\n`);
        break;
      }
      case 'note':
        options.write(`${e.controller ? `${e.controller}: ` : ''}${e.message}\n`);
        break;
    }
  };
  return { sink, stop: () => undefined, release: () => undefined };
}

function liveProgress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const lines = new Map<string, string>();
  const uploads = new Map<string, { started: number; sent: number; total: number }>();
  let drawn = 0;
  let dirty = false;
  const draw = () => {
    if (!dirty) return;
    dirty = false;
    const block = [...lines.values()];
    // Move up over the previous block and clear to the end of the screen, then write the new one.
    const up = drawn > 0 ? `\x1b[${drawn}F\x1b[J` : '';
    options.write(`${up}${block.join('\n')}\n`);
    drawn = block.length;
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  const sink: EventSink = (e) => {
    if (e.type === 'note') {
      lines.set(`note:${lines.size}`, `  ${e.controller ? `${e.controller}: ` : ''}${e.message}`);
    } else if (e.type === 'controller') {
      lines.set(e.controller, `${e.controller}: ${e.phase}${e.message ? ` ${e.message}` : ''}`);
    } else if (e.type === 'vm') {
      lines.set(`${e.controller}/${e.vm}`, `  ${e.vm}: ${e.phase}${e.message ? ` ${e.message.split('\n')[0]}` : ''}`);
    } else {
      const key = `${e.controller}:${e.file}`;
      const u = uploads.get(key) ?? { started: now(), sent: 0, total: e.total };
      u.sent = e.sent;
      uploads.set(key, u);
      const pct = e.total > 0 ? Math.floor((100 * e.sent) / e.total) : 100;
      lines.set(`upload:${key}`, `  ${e.file}: ${e.done ? 'uploaded' : `${pct}%`} ${byteSize(e.sent)}/${byteSize(e.total)} ${rate(e.sent, now() - u.started)}`);
    }
    dirty = true;
  };
  return {
    sink,
    stop: () => {
      clearInterval(timer);
      draw();
    },
    release: () => {
      draw();
      lines.clear();
      drawn = 0;
    },
  };
}

function rate(bytes: number, ms: number): string {
  return `${byteSize(ms > 0 ? (bytes * 1000) / ms : bytes)}/s`;
}
