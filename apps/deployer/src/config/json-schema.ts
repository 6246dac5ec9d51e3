/**
 * The JSON Schema (draft 2020-12) of the deployment file for editors and YAML language servers, generated from
 * the zod schema so that the two cannot disagree. Committed as apps/deployer/deployment.schema.json; its test
 * fails when the file is stale and says how to regenerate it.
 */
import { domainSpecSchema } from '@vmctx/template-renderer';
import { z } from 'zod';
import { DeploymentFileSchema, ImageSchema, VmSpecSchema } from './schema.js';

export function deploymentJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(DeploymentFileSchema, {
    io: 'input',
    // Refinements (exclusive fields, MAC checks) have no JSON Schema form; editors get the shapes.
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      // The spec is checked by template-renderer's own schema inside a refinement; editors get that shape.
      if (zodSchema === VmSpecSchema) {
        // Its examples (schema.ts) stay: the reference shows them (reference.ts).
        const { examples } = jsonSchema as Record<string, unknown>;
        for (const key of Object.keys(jsonSchema)) delete (jsonSchema as Record<string, unknown>)[key];
        Object.assign(jsonSchema, vmSpecJsonSchema(), examples === undefined ? {} : { examples });
      }
      // The image's refinement in JSON Schema terms: path alone, or url with sha256 (and fetch).
      if (zodSchema === ImageSchema) {
        (jsonSchema as Record<string, unknown>)['oneOf'] = [
          { required: ['path'], not: { anyOf: [{ required: ['url'] }, { required: ['sha256'] }, { required: ['fetch'] }] } },
          { required: ['url', 'sha256'], not: { required: ['path'] } },
        ];
      }
    },
  });
  return { ...schema, title: 'vmctx deployment' };
}

/**
 * template-renderer's spec as a VM gives it: no `name` (the VM's), and interfaces whose `source` may be left to
 * the VM's bridge or network.
 */
function vmSpecJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(domainSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete schema['$schema'];
  const properties = schema['properties'] as Record<string, unknown>;
  delete properties['name'];
  schema['required'] = (schema['required'] as string[]).filter((key) => key !== 'name');
  const devices = properties['devices'] as { properties: { interfaces: { items: { oneOf?: unknown[]; anyOf?: unknown[] } } } };
  const nics = devices.properties.interfaces.items;
  for (const nic of (nics.oneOf ?? nics.anyOf ?? []) as { required?: string[] }[]) {
    if (nic.required) nic.required = nic.required.filter((key) => key !== 'source');
  }
  return { ...schema, description: "template-renderer's VM spec (libvirt domain), without name; an interface's source may be left to the VM's bridge or network. Exclusive with template." };
}
