import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fixture } from './deployment.fixture.js';
import { loadDeployment } from './load.js';
import { DeploymentError } from './problems.js';
import { DeploymentFileSchema } from './schema.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/cluster.yaml', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** The problems of loading `file` where it is, as `line: path: message [code]`; none when it loads. */
async function problemsOf(file: string, home: string): Promise<string[]> {
  try {
    await loadDeployment(file, { homeDir: home, sshConfigPath: `${home}/none` });
    return [];
  } catch (error) {
    if (error instanceof DeploymentError) return error.problems.map((p) => `${p.line}: ${p.path}: ${p.message} [${p.code}]`);
    throw error;
  }
}

describe('examples/cluster.yaml', () => {
  it('loads where it is: every file it names is beside it (a template, a context file, a Snooze folder, an image)', async () => {
    const f = await fixture({});
    expect(await problemsOf(EXAMPLE, f.home)).toEqual([]);
  });

  it('shows the three forms of a context, a count group with IP-from-MAC, a native template and a spec', async () => {
    const f = await fixture({});
    const d = await loadDeployment(EXAMPLE, { homeDir: f.home, sshConfigPath: f.path('none') });
    expect(d.name).toBe('example-cluster');
    expect(d.controllers.map((c) => [c.name, c.host])).toEqual([
      ['lc1', '192.0.2.11'],
      ['lc2', '192.0.2.12'],
    ]);
    expect(d.vms.map((vm) => [vm.name, vm.controller, vm.address ?? null, vm.mac ?? null, vm.template.kind, vm.context.kind])).toEqual([
      ['web-1', 'lc1', '198.51.100.31', '02:00:c6:33:64:1f', 'native', 'context'],
      ['web-2', 'lc1', '198.51.100.32', '02:00:c6:33:64:20', 'native', 'context'],
      ['web-3', 'lc1', '198.51.100.33', '02:00:c6:33:64:21', 'native', 'context'],
      ['web-4', 'lc1', '198.51.100.34', '02:00:c6:33:64:22', 'native', 'context'],
      ['db-1', 'lc2', null, null, 'spec', 'context'],
      ['legacy-1', 'lc2', '198.51.100.41', '02:00:c6:33:64:29', 'native', 'folder'],
      ['legacy-2', 'lc2', '198.51.100.42', '02:00:c6:33:64:2a', 'native', 'folder'],
    ]);
    const db = d.vms.find((vm) => vm.name === 'db-1')!;
    expect(db.context.kind === 'context' && db.context.source).toMatch(/examples\/contexts\/db\.yaml$/);
  });
});

/** The ```yaml blocks of a Markdown file. */
async function yamlBlocks(path: string): Promise<string[]> {
  const text = await readFile(`${REPO}${path}`, 'utf8');
  return [...text.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe("the READMEs' and the reference's deployment YAML", () => {
  const shape = DeploymentFileSchema.shape as Record<string, { safeParse(value: unknown): { success: boolean; error?: { message: string } } }>;

  it('holds only what the schema accepts: a whole file as one, a part of one (hostPaths: ...) field by field', async () => {
    const checked: string[] = [];
    for (const doc of ['README.md', 'apps/deployer/README.md', 'apps/deployer/docs/deployment-file.md']) {
      for (const [i, block] of (await yamlBlocks(doc)).entries()) {
        const value: unknown = parse(block);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
        const keys = Object.keys(value);
        const where = `${doc} yaml block ${i + 1}`;
        if ('vms' in value && 'controllers' in value) {
          const result = DeploymentFileSchema.safeParse(value);
          expect(result.success, `${where}: ${result.error?.message}`).toBe(true);
          checked.push(`${where}: whole`);
        } else if (keys.length > 1 && keys.every((k) => k in shape)) {
          // A part of a file. (A field's example in the reference, one key and maybe not at the top level, is
          // checked at its own field by reference.spec.ts.)
          for (const key of keys) {
            const result = shape[key]!.safeParse((value as Record<string, unknown>)[key]);
            expect(result.success, `${where}: ${key}: ${result.error?.message}`).toBe(true);
          }
          checked.push(`${where}: ${keys.join(', ')}`);
        }
      }
    }
    expect(checked).toContain('apps/deployer/README.md yaml block 1: hostPaths, trustTemplates');
    expect(checked.filter((c) => c.endsWith('whole')).length).toBeGreaterThanOrEqual(1);
  });
});
