/**
 * buildArtifacts with the real packages (no controller): what each VM gets, what a group shares, and that a
 * rebuild of the same file gives the same bytes (so a redeploy uploads nothing and replaces nothing).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseXml, lintDomainXml, hasErrors } from '@vmctx/template-renderer';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDeployment } from '../config/index.js';
import { readOwnerMark } from '../controller/owner-mark.js';
import { buildArtifacts } from './build.js';
import { ArtifactCache } from './cache.js';

const dir = mkdtempSync(join(tmpdir(), 'vmctx-build-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** examples/cluster.yaml where it is: its template, contexts and stand-in image are beside it. */
async function cluster() {
  return loadDeployment(new URL('../../examples/cluster.yaml', import.meta.url).pathname, { homeDir: dir, sshConfigPath: join(dir, 'no-ssh-config') });
}

describe('buildArtifacts', () => {
  it('gives each VM its overlay, ISO and domain; an IP-from-MAC group shares one ISO', async () => {
    const deployment = await cluster();
    const artifacts = await buildArtifacts(deployment, { cache: new ArtifactCache(join(dir, 'cache')) });
    expect(artifacts.map((a) => a.vm.name)).toEqual(['web-1', 'web-2', 'web-3', 'web-4', 'db-1', 'legacy-1', 'legacy-2']);
    const web = artifacts.filter((a) => a.vm.name.startsWith('web-'));
    expect(new Set(web.map((a) => a.iso!.remotePath)).size).toBe(1);
    expect(web[0]!.iso!.remotePath).toMatch(/^\/var\/lib\/vmctx\/images\/context-[0-9a-f]{16}\.iso$/);
    expect(new Set(artifacts.map((a) => a.overlay.remotePath)).size).toBe(7);
    expect(web.map((a) => a.macs[0])).toEqual(['02:00:c6:33:64:1f', '02:00:c6:33:64:20', '02:00:c6:33:64:21', '02:00:c6:33:64:22']);
    for (const a of artifacts) {
      expect(a.base.remotePath).toMatch(/^\/var\/lib\/vmctx\/images\/debian-[0-9a-f]{16}\.raw$/);
      // What the base holds on the local disk (preflight's room for it on the controller: only data is sent).
      expect(a.base.allocated).toBe(Math.min(a.base.size, statSync(a.base.localPath).blocks * 512));
      expect(hasErrors(lintDomainXml(a.xml, a.vm.name))).toBe(false);
      expect(readOwnerMark(parseXml(a.xml))).toEqual({ deployment: 'example-cluster', vm: a.vm.name, artifacts: a.artifacts });
      expect(a.consoleLog).toBe(`/var/lib/vmctx/images/${a.vm.name}.console.log`);
      expect(a.xml).toContain(`<source file="${a.overlay.remotePath}"/>`);
      expect(a.xml).toContain(`<log file="${a.consoleLog}" append="off"/>`);
    }
    // The inline spec: its memory and vCPUs, the overlay as vda, the ISO as a cdrom, the bridge.
    const db = artifacts.find((a) => a.vm.name === 'db-1')!;
    expect(db.xml).toMatch(/<memory unit="MiB">512<\/memory>/);
    expect(db.xml).toMatch(/<vcpu>2<\/vcpu>/);
    expect(db.bridges).toEqual(['virbr0']);
    expect(db.xml).toContain(`<source file="${db.iso!.remotePath}"/>`);
  });

  it('builds the same bytes again from an empty cache: same digests, same XML, same UUIDs', async () => {
    const deployment = await cluster();
    const a = await buildArtifacts(deployment, { cache: new ArtifactCache(join(dir, 'cache-a')) });
    const b = await buildArtifacts(deployment, { cache: new ArtifactCache(join(dir, 'cache-b')) });
    expect(b.map((x) => [x.uuid, x.macs, x.artifacts, x.xml])).toEqual(a.map((x) => [x.uuid, x.macs, x.artifacts, x.xml]));
  });
});
