/**
 * The local, content-addressed artifact cache: every built file is stored once under its sha256
 * (`objects/<sha256>.<ext>`), so the same context or overlay built twice is one file, a rebuild of unchanged
 * input is free, and what is uploaded is named by what it holds.
 *
 * Base images are the user's own files, not copied here; their digests (the sha256 that names them, and the
 * sparse digest an upload is checked by: controller/sparse-digest.ts) are remembered against the file's identity
 * (device, inode, size, mtime) so that a multi-GiB image is read once, not on every run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { makeFolder } from '@vmctx/contract';
import { fileDigests } from '../controller/sparse-digest.js';
import { DeployerError } from '../errors.js';

export interface StoredObject {
  sha256: string;
  path: string;
  size: number;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vmctx');
}

/** A user's file's digests, remembered in digests.json (an entry of an earlier vmctx is its sha256 alone: read again). */
interface Digests {
  sha256: string;
  sparseSha256: string;
}

export class ArtifactCache {
  private digests: Record<string, Digests | string> | undefined;

  constructor(readonly dir: string) {}

  /** A fresh temporary path inside the cache, where an object is built before it gets its name. */
  private async tempPath(ext: string): Promise<string> {
    await makeFolder(join(this.dir, 'tmp'));
    return join(this.dir, 'tmp', `${process.pid}-${randomBytes(6).toString('hex')}.${ext}`);
  }

  /**
   * Builds an object by streaming it into the cache: hashed as it is written, no second read, no fsync (a lost
   * cache entry is rebuilt, never trusted half-written: it gets its name only once complete). With an input
   * `key` (a digest of everything the bytes depend on), a second build of the same input is a lookup.
   */
  async build(ext: string, key: string | undefined, write: (output: Writable) => Promise<unknown>): Promise<StoredObject> {
    if (key) {
      const known = await this.lookup(key, ext);
      if (known) return known;
    }
    const temp = await this.tempPath(ext);
    const hash = createHash('sha256');
    const file = await open(temp, 'wx', 0o600);
    let size = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        file.write(chunk).then(() => done(), done);
      },
    });
    try {
      await write(sink);
      await new Promise<void>((resolve, reject) => sink.end((error?: Error | null) => (error ? reject(error) : resolve())));
    } catch (error) {
      await file.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw error;
    }
    await file.close();
    const sha256 = hash.digest('hex');
    const path = join(this.dir, 'objects', `${sha256}.${ext}`);
    await makeFolder(join(this.dir, 'objects'));
    await rename(temp, path);
    if (key) {
      await makeFolder(join(this.dir, 'index'));
      await writeFile(join(this.dir, 'index', key), sha256);
    }
    return { sha256, path, size };
  }

  private async lookup(key: string, ext: string): Promise<StoredObject | undefined> {
    const sha256 = await readFile(join(this.dir, 'index', key), 'utf8').catch(() => undefined);
    if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    const path = join(this.dir, 'objects', `${sha256}.${ext}`);
    const st = await stat(path).catch(() => undefined);
    return st ? { sha256, path, size: st.size } : undefined;
  }

  /** The digests of a user's file, read again only when the file changed (device, inode, size, mtime). */
  async digestOf(path: string): Promise<Digests & { size: number }> {
    let st;
    try {
      st = await stat(path, { bigint: true });
    } catch (error) {
      throw new DeployerError('DEPLOY_IMAGE_UNREADABLE', `cannot read ${path}: ${(error as Error).message}`, { where: path, cause: error });
    }
    const key = `${path}|${st.dev}|${st.ino}|${st.size}|${st.mtimeNs}`;
    const digests = await this.loadDigests();
    let known = digests[key];
    if (typeof known !== 'object') {
      const read = await fileDigests(path).catch((error: Error) => {
        throw new DeployerError('DEPLOY_IMAGE_UNREADABLE', `cannot read ${path}: ${error.message}`, { where: path, cause: error });
      });
      known = { sha256: read.sha256, sparseSha256: read.sparseSha256 };
      digests[key] = known;
      await this.saveDigests();
    }
    return { ...known, size: Number(st.size) };
  }

  private async loadDigests(): Promise<Record<string, Digests | string>> {
    if (!this.digests) {
      try {
        this.digests = JSON.parse(await readFile(join(this.dir, 'digests.json'), 'utf8')) as Record<string, Digests | string>;
      } catch {
        this.digests = {};
      }
    }
    return this.digests;
  }

  private async saveDigests(): Promise<void> {
    await makeFolder(this.dir);
    const temp = join(this.dir, `.digests.json.${process.pid}.${randomBytes(4).toString('hex')}`);
    await writeFile(temp, JSON.stringify(this.digests));
    await rename(temp, join(this.dir, 'digests.json'));
  }
}
