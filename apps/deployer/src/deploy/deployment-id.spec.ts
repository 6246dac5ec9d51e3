import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failure } from '../controller/fake-controller.fixture.js';
import { deploymentIdFile, ensureDeploymentId, readDeploymentId } from './deployment-id.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmctx-deployment-id-'));
  file = join(dir, 'deployment.yaml');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the deployment id kept beside the file', () => {
  it('is made once, at the first deploy, and read the same afterwards', async () => {
    expect(await readDeploymentId(file)).toBeUndefined();
    const id = await ensureDeploymentId(file);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(readFileSync(deploymentIdFile(file), 'utf8')).toBe(`${id}\n`);
    expect(await ensureDeploymentId(file)).toBe(id);
    expect(await readDeploymentId(file)).toBe(id);
  });

  it('is the same for two first deploys at once (made exclusively)', async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, () => ensureDeploymentId(file)));
    expect(new Set(ids).size).toBe(1);
  });

  it('two deployment files of one name in two folders get two ids', async () => {
    const other = join(mkdtempSync(join(dir, 'b-')), 'deployment.yaml');
    expect(await ensureDeploymentId(file)).not.toBe(await ensureDeploymentId(other));
  });

  it('refuses an id file that does not hold an id, and says where', async () => {
    writeFileSync(deploymentIdFile(file), 'deployment\n');
    const error = await failure(readDeploymentId(file));
    expect(error.code).toBe('CONFIG_ID_INVALID');
    expect(error.message).toContain(deploymentIdFile(file));
  });

  it('says when the first deploy cannot write it', async () => {
    const error = await failure(ensureDeploymentId(join(dir, 'missing-folder', 'deployment.yaml')));
    expect(error.code).toBe('CONFIG_ID_UNWRITABLE');
  });
});
