import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contextLocations } from './contexts.js';
import { contextIsoNodes } from './plugin.js';

const workspace = mkdtempSync(join(tmpdir(), 'nx-context-iso-plugin-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

describe('contextLocations', () => {
  it('names a context file after its folder and a Snooze context/ folder after the folder around it', () => {
    expect(contextLocations(['examples/contexts/web/context.yaml', 'examples/contexts/legacy/context/post-install'])).toEqual([
      { name: 'legacy', root: 'examples/contexts/legacy', kind: 'folder', input: 'examples/contexts/legacy/context', inputs: ['{projectRoot}/context/**/*'] },
      { name: 'web', root: 'examples/contexts/web', kind: 'file', input: 'examples/contexts/web/context.yaml', inputs: ['{projectRoot}/context.yaml'] },
    ]);
  });

  it('ignores a post-install that is not in a context/ folder', () => {
    expect(contextLocations(['packages/guest-script/sh/post-install'])).toEqual([]);
  });

  it('refuses two contexts that would write the same ISO, a context at the root and a name that is no file name', () => {
    expect(() => contextLocations(['a/web/context.yaml', 'b/web/context/post-install'])).toThrow(/a\/web\/context.yaml and b\/web\/context are both the context "web"/);
    expect(() => contextLocations(['web/context.yaml', 'web/context/post-install'])).toThrow(/both the context "web"/);
    expect(() => contextLocations(['context.yaml'])).toThrow(/workspace root/);
    expect(() => contextLocations(['ex/we b/context.yaml'])).toThrow(/"we b" must be letters/);
  });
});

describe('contextIsoNodes', () => {
  it('infers a cacheable target whose inputs are the context and whose outputs are the ISO and its checksum', () => {
    const [[file, result]] = contextIsoNodes(['examples/web/context.yaml'], { epoch: 1_700_000_000, label: 'CTX' }, workspace) as [[string, any]];
    expect(file).toBe('examples/web/context.yaml');
    expect(result.projects['examples/web']).toEqual({
      name: 'context-web',
      targets: {
        'context-iso': {
          executor: '@vmctx/nx-context-iso:context-iso',
          cache: true,
          inputs: ['{projectRoot}/context.yaml'],
          outputs: ['{workspaceRoot}/dist/contexts/web.iso', '{workspaceRoot}/dist/contexts/web.iso.sha256'],
          options: { input: 'examples/web/context.yaml', output: 'dist/contexts/web.iso', label: 'CTX', epoch: 1_700_000_000 },
          metadata: expect.objectContaining({ technologies: ['vmctx'] }),
        },
      },
    });
  });

  it('takes a target name, an output folder and dependsOn, defaults the epoch to 0, and leaves an existing project its name', () => {
    mkdirSync(join(workspace, 'apps/vm'), { recursive: true });
    writeFileSync(join(workspace, 'apps/vm/project.json'), '{}');
    const nodes = contextIsoNodes(['apps/vm/context/post-install'], { targetName: 'iso', outputDir: 'out/isos/', dependsOn: ['^build'] }, workspace);
    const project = (nodes[0]![1] as any).projects['apps/vm'];
    expect(project.name).toBeUndefined();
    expect(project.targets.iso).toMatchObject({
      inputs: ['{projectRoot}/context/**/*'],
      outputs: ['{workspaceRoot}/out/isos/vm.iso', '{workspaceRoot}/out/isos/vm.iso.sha256'],
      options: { input: 'apps/vm/context', output: 'out/isos/vm.iso', epoch: 0 },
      dependsOn: ['^build'],
    });
  });

  it("passes format to a context file's target; a folder's stays Snooze's layout as it is", () => {
    const nodes = contextIsoNodes(['apps/a/context.yaml', 'apps/b/context/post-install'], { format: 'snooze' }, workspace) as Array<[string, any]>;
    const options = nodes.map(([, result]) => (Object.values(result.projects)[0] as any).targets['context-iso'].options);
    expect(options).toEqual([
      { input: 'apps/a/context.yaml', output: 'dist/contexts/a.iso', format: 'snooze', epoch: 0 },
      { input: 'apps/b/context', output: 'dist/contexts/b.iso', epoch: 0 },
    ]);
  });

  it("a context file's inputs hold the cloud-config files it names (cloudInit), beside it or elsewhere in the workspace", () => {
    mkdirSync(join(workspace, 'envs/prod/web'), { recursive: true });
    writeFileSync(join(workspace, 'envs/prod/web/context.yaml'), 'hostname: web\ncloudInit:\n  userData: ./user-data.yaml\n  networkConfig: ../../shared/net.yaml\n');
    const inputs = (file: string) => (Object.values((contextIsoNodes([file], {}, workspace)[0]![1] as any).projects)[0] as any).targets['context-iso'].inputs;
    expect(inputs('envs/prod/web/context.yaml')).toEqual(['{projectRoot}/context.yaml', '{workspaceRoot}/envs/prod/web/user-data.yaml', '{workspaceRoot}/envs/shared/net.yaml']);
    // Outside the workspace (no Nx input can name it), not YAML, or no cloudInit: the context file alone.
    writeFileSync(join(workspace, 'envs/prod/web/context.yaml'), 'cloudInit: { userData: ../../../../outside.yaml }\n');
    expect(inputs('envs/prod/web/context.yaml')).toEqual(['{projectRoot}/context.yaml']);
    writeFileSync(join(workspace, 'envs/prod/web/context.yaml'), 'hostname: [web\n');
    expect(inputs('envs/prod/web/context.yaml')).toEqual(['{projectRoot}/context.yaml']);
  });

  it('refuses an epoch that is not whole seconds', () => {
    expect(() => contextIsoNodes([], { epoch: -1 }, workspace)).toThrow(/epoch -1/);
  });
});
