import { copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixture } from './fixture.test.js';
import { loadDeployment } from './load.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/cluster.yaml', import.meta.url));

describe('examples/cluster.yaml', () => {
  it('loads, beside a base image and a template', async () => {
    const f = await fixture();
    await copyFile(EXAMPLE, f.path('cluster.yaml'));
    const d = await loadDeployment(f.path('cluster.yaml'), { homeDir: f.home, sshConfigPath: f.path('none') });
    expect(d.name).toBe('example-cluster');
    expect(d.vms.map((vm) => [vm.name, vm.controller, vm.address ?? null, vm.mac ?? null, vm.template.kind])).toEqual([
      ['web-1', 'lc1', '198.51.100.31', '02:00:c6:33:64:1f', 'native'],
      ['web-2', 'lc1', '198.51.100.32', '02:00:c6:33:64:20', 'native'],
      ['web-3', 'lc1', '198.51.100.33', '02:00:c6:33:64:21', 'native'],
      ['web-4', 'lc1', '198.51.100.34', '02:00:c6:33:64:22', 'native'],
      ['db-1', 'lc2', null, null, 'spec'],
    ]);
  });
});
