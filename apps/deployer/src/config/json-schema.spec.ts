import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deploymentJsonSchema } from './json-schema.js';

const COMMITTED = fileURLToPath(new URL('../../deployment.schema.json', import.meta.url));
const REGENERATE = 'cd apps/deployer && VMCTX_WRITE_SCHEMA=1 npx vitest run src/config/json-schema.spec.ts';

describe('deployment.schema.json', () => {
  it('is what the zod schema generates (regenerate with the command in the message)', async () => {
    const generated = `${JSON.stringify(deploymentJsonSchema(), null, 2)}\n`;
    if (process.env['VMCTX_WRITE_SCHEMA'] === '1') await writeFile(COMMITTED, generated);
    const committed = await readFile(COMMITTED, 'utf8').catch(() => '');
    expect(committed === generated, `apps/deployer/deployment.schema.json is stale; regenerate it: ${REGENERATE}`).toBe(true);
  });

  it("describes the file's shape: strict objects, the spec without name, an interface source optional", () => {
    const schema = deploymentJsonSchema() as any;
    expect(schema.required).toEqual(['controllers', 'images', 'vms']);
    expect(schema.additionalProperties).toBe(false);
    const vm = schema.properties.vms.items;
    expect(vm.additionalProperties).toBe(false);
    expect(vm.properties.spec).toEqual({ $ref: '#/$defs/VmSpec' });
    const spec = schema.$defs.VmSpec;
    expect(spec.properties.name).toBeUndefined();
    expect(spec.required).toEqual(['memory']);
    const nics = spec.properties.devices.properties.interfaces.items;
    for (const nic of nics.oneOf ?? nics.anyOf) expect(nic.required).not.toContain('source');
    expect(schema.$defs.VmContext.anyOf).toHaveLength(2);
  });
});
