/**
 * The context CD `vmctx deploy` uploads (issue 20): by default the one both readers read, as `vmctx context iso`
 * writes it (cloud-init's NoCloud seed beside Snooze's layout, label cidata), so that a stock cloud image is
 * configured by it; an IP-from-MAC group's shared CD lists each member's MAC (the MACs the deployer gives them) with
 * its address; `isoFormat`/`isoLabel` keep Snooze's CONTEXT CD reachable. Through the CLI, on the in-process
 * controller (real sh, fake virsh); each uploaded ISO read back from the controller's folder with isoinfo.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { captureIo, exitCodeOfRun } from '../cli/capture-io.fixture.js';
import { FakeController, fakeDeploymentHead, useCliController } from '../controller/fake-controller.fixture.js';
import { createProgram } from '../program.js';

let fake: FakeController;
let dir: string;
useCliController('vmctx-context-cd-', (f, d) => {
  fake = f;
  dir = d;
});

async function deploy(vms: string): Promise<{ exitCode: number; err: string; report: { controllers: { vms: { vm: string }[] }[] } }> {
  await writeFile(
    join(dir, 'deployment.yaml'),
    `${fakeDeploymentHead(fake, dir, 'context-cd')}defaults: { controller: lc1, image: base, bridge: br0, spec: { memory: { value: 64, unit: MiB } } }
vms:
${vms}`,
  );
  const io = captureIo();
  const exitCode = await exitCodeOfRun(createProgram(io).parseAsync(['deploy', '--json', '-f', join(dir, 'deployment.yaml'), '--cache', join(dir, 'cache')], { from: 'user' }));
  return { exitCode, err: io.err, report: JSON.parse(io.out || '{}') };
}

/** The context ISOs on the controller, each with its label, its files (Rock Ridge names) and a reader of one file. */
function uploadedIsos() {
  return readdirSync(fake.imageDir)
    .filter((f) => /^context-[0-9a-f]{16}\.iso$/.test(f))
    .map((f) => {
      const iso = join(fake.imageDir, f);
      const label = /^Volume id: (.*)$/m.exec(spawnSync('isoinfo', ['-d', '-i', iso], { encoding: 'utf8' }).stdout)?.[1]?.trim();
      const files = spawnSync('isoinfo', ['-R', '-f', '-i', iso], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
      const read = (path: string) => spawnSync('isoinfo', ['-R', '-x', path, '-i', iso], { encoding: 'utf8' }).stdout;
      return { label, files, read };
    });
}

describe('the context CD deploy uploads', () => {
  it("holds cloud-init's NoCloud seed and Snooze's layout, labelled cidata; an IP-from-MAC group's CD lists each member's MAC with its address", async () => {
    const run = await deploy(`  - { name: web, count: 2, address: 198.51.100.31, context: { hostname: web, network: { method: ip-from-mac, prefix: 24, gateway: 198.51.100.1 } } }
`);
    expect(run.exitCode, run.err).toBe(0);
    const isos = uploadedIsos();
    expect(isos).toHaveLength(1);
    const [cd] = isos as [(typeof isos)[0]];
    expect(cd.label).toBe('cidata');
    expect(cd.files).toEqual(expect.arrayContaining(['/meta-data', '/user-data', '/network-config', '/post-install', '/instance-id', '/common/network']));
    // One instance id for both readers.
    expect(parse(cd.read('/meta-data'))['instance-id']).toBe(cd.read('/instance-id').trim());
    // The MACs the deployer gave web-1 and web-2 (they encode 198.51.100.31 and .32), each with its address.
    const ethernets = parse(cd.read('/network-config')).ethernets as Record<string, { match: { macaddress: string }; addresses: string[] }>;
    expect(Object.values(ethernets).map((e) => [e.match.macaddress, e.addresses])).toEqual([
      ['02:00:c6:33:64:1f', ['198.51.100.31/24']],
      ['02:00:c6:33:64:20', ['198.51.100.32/24']],
    ]);
  });

  it("isoFormat: snooze gives Snooze's CD alone, labelled CONTEXT; isoLabel names the label", async () => {
    const run = await deploy(`  - { name: old-1, isoFormat: snooze, context: { hostname: old } }
  - { name: new-1, isoFormat: cloud-init, isoLabel: CIDATA, context: { hostname: new } }
`);
    expect(run.exitCode, run.err).toBe(0);
    const byLabel = Object.fromEntries(uploadedIsos().map((cd) => [cd.label, cd.files]));
    expect(Object.keys(byLabel).sort()).toEqual(['CIDATA', 'CONTEXT']);
    expect(byLabel.CONTEXT).toContain('/post-install');
    expect(byLabel.CONTEXT).not.toContain('/meta-data');
    expect(byLabel.CIDATA).toEqual(['/meta-data', '/user-data']);
  });

  it("a context folder is Snooze's layout as it is: isoFormat cloud-init refused where it is written, nothing deployed", async () => {
    await mkdir(join(dir, 'legacy'));
    await writeFile(join(dir, 'legacy', 'post-install'), '#!/bin/sh\n');
    const run = await deploy(`  - { name: old-1, isoFormat: cloud-init, context: ./legacy }
`);
    expect(run.exitCode).toBe(2);
    expect(run.err).toMatch(/vms\[0\]\.isoFormat.*a context folder is Snooze's layout as it is; isoFormat cloud-init needs a context file/);
    expect(uploadedIsos()).toEqual([]);
  });
});
