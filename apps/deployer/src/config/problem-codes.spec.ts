/**
 * Each problem of a deployment file has the code the README's table gives it, as the CLI prints it and `--json`
 * carries it (issue 24 #5: a duplicate name and an unknown controller printed CONFIG_INVALID, and a file with a
 * missing image and a missing template printed CONFIG_IMAGE_NOT_FOUND for both).
 */
import { describe, expect, it } from 'vitest';
import { formatError } from '../cli/action.js';
import { DEPLOYER_ERROR_CODES, DEPLOYER_ERRORS } from '../errors.js';
import { fixture } from './deployment.fixture.js';
import { DeploymentError } from './problems.js';

const HEAD = `controllers: [{ name: lc1, host: h1, imageDir: /srv/vmctx }]
images: [{ name: debian, path: ./debian-base.raw }]
defaults: { controller: lc1, image: debian, template: ./debian1.xml }
`;

/** One file per code that a deployment file's problems can have: its vms, and the path the problem is at. */
const CASES: Record<string, { vms: string; at: string; head?: string }> = {
  CONFIG_INVALID: { vms: '  - { name: a, memory: lots }', at: 'vms[0].memory' },
  CONFIG_UNKNOWN_CONTROLLER: { vms: '  - { name: a, controller: lc9 }', at: 'vms[0].controller' },
  CONFIG_UNKNOWN_IMAGE: { vms: '  - { name: a, image: centos }', at: 'vms[0].image' },
  CONFIG_DUPLICATE_NAME: { vms: '  - { name: a }\n  - { name: a }', at: 'vms[1].name' },
  CONFIG_DUPLICATE_MAC: { vms: '  - { name: a, mac: "52:54:00:00:00:01" }\n  - { name: b, mac: "52:54:00:00:00:01" }', at: 'vms[1].mac' },
  CONFIG_DUPLICATE_ADDRESS: {
    vms: '  - { name: a, context: { network: { method: static, address: 192.0.2.10/24 } } }\n  - { name: b, context: { network: { method: static, address: 192.0.2.10/24 } } }',
    at: 'vms[1].context',
  },
  CONFIG_INVALID_NAME: { vms: '  - { name: "+1" }', at: 'vms[0].name' },
  CONFIG_IMAGE_NOT_FOUND: { head: HEAD.replace('./debian-base.raw', './nope.raw'), vms: '  - { name: a }', at: 'images[0].path' },
  CONFIG_TEMPLATE_NOT_FOUND: { vms: '  - { name: a, template: ./nope.xml }', at: 'vms[0].template' },
  CONFIG_CONTEXT_NOT_FOUND: { vms: '  - { name: a, context: ./nope.yaml }', at: 'vms[0].context' },
};

/** Codes of the deployment file raised elsewhere, each proven by its own spec. */
const ELSEWHERE: Record<string, string> = {
  CONFIG_TOO_LARGE: 'load.spec.ts',
  CONFIG_NOT_UTF8: 'load.spec.ts',
  CONFIG_UNSAFE_TEXT: 'load.spec.ts',
  CONFIG_ALIAS_LIMIT: 'load.spec.ts',
  CONFIG_UNREADABLE: 'load.spec.ts',
  CONFIG_ID_INVALID: 'deploy/deployment-id.spec.ts',
  CONFIG_ID_UNREADABLE: 'deploy/deployment-id.spec.ts',
  CONFIG_ID_UNWRITABLE: 'deploy/deployment-id.spec.ts',
};

async function refusal(text: string): Promise<DeploymentError> {
  const f = await fixture();
  const error = await f.parse(text).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeploymentError);
  return error as DeploymentError;
}

describe('the code of each problem of a deployment file', () => {
  it.each(Object.entries(CASES))('%s, printed and in --json', async (code, { vms, at, head }) => {
    const error = await refusal(`${head ?? HEAD}vms:\n${vms}\n`);
    expect(error.problems.map((p) => [p.path, p.code])).toEqual([[at, code]]);
    expect([error.code, error.kind]).toEqual([code, DEPLOYER_ERRORS[code as keyof typeof DEPLOYER_ERRORS]]);
    expect(formatError(error)).toMatch(new RegExp(`: ${at.replace(/[[\].]/g, '\\$&')}: .* \\[${code}\\]\\n$`));
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code, problems: [{ path: at, code, line: expect.any(Number) }] });
  });

  it('covers every CONFIG_ code of the catalogue (a new one gets a case here or a named spec)', () => {
    const config = DEPLOYER_ERROR_CODES.filter((code) => code.startsWith('CONFIG_'));
    expect(config.filter((code) => !(code in CASES) && !(code in ELSEWHERE))).toEqual([]);
  });

  it('gives each line its own code when the problems differ, and CONFIG_INVALID for the whole on the first line', async () => {
    const error = await refusal(
      `${HEAD.replace('./debian-base.raw', './nope.raw')}vms:\n  - { name: a, controller: lc9, template: ./nope.xml }\n  - { name: a }\n`,
    );
    const printed = formatError(error).split('\n');
    expect(printed[0]).toMatch(/: 4 problems \[CONFIG_INVALID\]$/);
    expect(printed.slice(1, -1).map((line) => line.replace(/^.*?: (\S+): .* \[(\w+)\]$/, '$1 $2'))).toEqual([
      'images[0].path CONFIG_IMAGE_NOT_FOUND',
      'vms[0].controller CONFIG_UNKNOWN_CONTROLLER',
      'vms[0].template CONFIG_TEMPLATE_NOT_FOUND',
      'vms[1].name CONFIG_DUPLICATE_NAME',
    ]);
  });

  it('keeps one code, on the first line, when every problem has it', async () => {
    const error = await refusal(`${HEAD}vms:\n  - { name: a }\n  - { name: a }\n  - { name: b }\n  - { name: b }\n`);
    expect(error.code).toBe('CONFIG_DUPLICATE_NAME');
    const [first, ...rest] = formatError(error).trimEnd().split('\n');
    expect(first).toMatch(/: 2 problems \[CONFIG_DUPLICATE_NAME\]$/);
    expect(rest.filter((line) => / \[\w+\]$/.test(line))).toEqual([]);
  });

  it('says an address that is not one once, without a second problem about its gateway (issue 24 #5)', async () => {
    const error = await refusal(`${HEAD}vms:\n  - { name: a, context: { network: { method: static, address: 198.51.100.300/24, gateway: 198.51.100.1 } } }\n`);
    expect(error.problems).toHaveLength(1);
    expect(error.problems.map((p) => [p.path, p.message])).toEqual([['vms[0].context.network.address', 'expected an IPv4 address with its prefix length, such as 198.51.100.10/24']]);
  });
});
