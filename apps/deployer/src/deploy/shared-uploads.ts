/**
 * One reading of a local file for every controller of a deploy that uploads it (issue 22: read once for many).
 * Controllers run in parallel and reach their upload phase at different times, so a file's upload waits until each
 * controller that is under way has asked for it, or said it will not, or stopped; then one read feeds all that asked
 * (controller/upload.ts uploadFileToMany; one controller alone gets uploadFile, as before). A controller that has
 * not started yet (controllerConcurrency holds it back) is not waited for: it reads the file again, with the others
 * of its turn. Every controller asks for its files in one order (uploadOrder), so no two wait on each other: the
 * first file not yet sent has every controller that needs it either asking or still before its upload phase.
 */
import type { RemoteArtifact } from '../artifacts/build.js';
import type { ControllerConnection } from '../controller/connection.js';
import { uploadFile, uploadFileToMany, type UploadOptions } from '../controller/upload.js';
import type { EventSink } from './events.js';

type Progress = UploadOptions['onProgress'];

interface Asker {
  connection: ControllerConnection;
  remotePath: string;
  onProgress: Progress;
  settle: (identity: string | Error) => void;
}

/** The controllers waiting for one file, until it is read for them. */
interface Group {
  file: RemoteArtifact;
  askers: Map<string, Asker>;
}

/** How one or several controllers get a file: the real uploads, or a test's. */
export interface Uploaders {
  one: typeof uploadFile;
  many: typeof uploadFileToMany;
}

/** What makes two uploads the same reading: the local file and the content it must have. */
const keyOf = (file: RemoteArtifact) => `${file.localPath}\0${file.sha256}\0${file.size}`;

/** The order every controller asks in: base images, then ISOs, then overlays; by local file within a kind. */
export function uploadOrder(a: RemoteArtifact, b: RemoteArtifact): number {
  const kind = { base: 0, iso: 1, overlay: 2 } as const;
  return kind[a.kind] - kind[b.kind] || (a.localPath < b.localPath ? -1 : a.localPath > b.localPath ? 1 : 0);
}

export class SharedUploads {
  /** Controllers under way: undefined until they say which files they will ask for, then those not asked for yet. */
  private readonly active = new Map<string, Set<string> | undefined>();
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly events: EventSink,
    private readonly uploaders: Uploaders = { one: uploadFile, many: uploadFileToMany },
  ) {}

  /** `lc` is under way: files are not read before it says what it needs (planned) or stops (leave). */
  enter(lc: string): void {
    this.active.set(lc, undefined);
  }

  /** `lc` will ask for these files (in uploadOrder), and for no other. */
  planned(lc: string, files: readonly RemoteArtifact[]): void {
    if (this.active.has(lc)) this.active.set(lc, new Set(files.map(keyOf)));
    this.startReady();
  }

  /** `lc` asks for nothing more (its uploads are done, or it stopped): no file waits for it. */
  leave(lc: string): void {
    this.active.delete(lc);
    this.startReady();
  }

  /** `file` to `lc`, read once with every other controller that asks for it now; its identity on the controller. */
  upload(lc: string, connection: ControllerConnection, file: RemoteArtifact, onProgress: Progress): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const key = keyOf(file);
      let group = this.groups.get(key);
      if (!group) {
        group = { file, askers: new Map() };
        this.groups.set(key, group);
      }
      // It asked: no reading of this file waits for it any more (a later one, for those that start after, neither).
      this.active.get(lc)?.delete(key);
      group.askers.set(lc, { connection, remotePath: file.remotePath, onProgress, settle: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
      this.startReady();
    });
  }

  /** Starts each file whose controllers under way have all asked for it or will not. */
  private startReady(): void {
    for (const [key, group] of this.groups) {
      const waiting = [...this.active].some(([lc, wants]) => !group.askers.has(lc) && (wants === undefined || wants.has(key)));
      if (waiting) continue;
      this.groups.delete(key);
      void this.read(group);
    }
  }

  private async read(group: Group): Promise<void> {
    const { file } = group;
    const askers = [...group.askers.values()];
    const options = { sha256: file.sha256, size: file.size, mode: file.mode, ...(file.sparseSha256 ? { sparseSha256: file.sparseSha256 } : {}) };
    if (askers.length === 1) {
      const [only] = askers;
      await this.uploaders.one(only!.connection, file.localPath, only!.remotePath, { ...options, onProgress: only!.onProgress }).then(only!.settle, only!.settle);
      return;
    }
    this.events({ type: 'note', message: `${file.localPath}: read once for ${[...group.askers.keys()].sort().join(', ')}` });
    const targets = askers.map((a) => ({ connection: a.connection, remotePath: a.remotePath, ...(a.onProgress ? { onProgress: a.onProgress } : {}) }));
    const results = await this.uploaders.many(targets, file.localPath, options).catch((error: Error) => askers.map(() => error));
    results.forEach((result, i) => askers[i]!.settle(result));
  }
}
