// Writes a deployment file for tools/bench/deploy.sh: PER VMs on each of the named lab controllers (`lab env`),
// every VM named bench-<controller>-<n>, with its own context (host name, a static address) and so its own
// context ISO, in the shape of test/support/vmctx-cli.ts's deployments.
// Usage: node deploy-file.mjs OUT LAB_ENV_JSON BASE_IMAGE TEMPLATE IMAGE_DIR PER LC...
// LAB_ENV_JSON is `tools/lab/lab env`; controllers not up are still written (the 100-VM build needs no
// connection), with the lab's ports 2200+i.
import { writeFileSync } from 'node:fs';

const [out, envJson, baseImage, template, imageDir, per, ...names] = process.argv.slice(2);
const env = JSON.parse(envJson);
const controllers = names.map((name) => {
  const lc = env.controllers.find((c) => c.name === name) ?? { name, host: '127.0.0.1', port: 2200 + Number(name.replace(/\D/g, '')), user: 'root' };
  // labControllerEntry (test/support/vmctx-cli.ts), with the bench's own image folder.
  return { name: lc.name, host: lc.host, port: lc.port, user: lc.user, identityFile: env.key, knownHosts: env.knownHosts, imageDir };
});
const vms = [];
// Addresses are unique in a deployment. 198.51.100.200 and up for the few VMs that are deployed (clear of the
// demo's and the e2e suites' on the same bridges); 100 and up for the 100-VM build, which is never deployed.
const first = controllers.length * Number(per) <= 50 ? 200 : 100;
for (const lc of controllers) {
  for (let n = 1; n <= Number(per); n++) {
    const name = `bench-${lc.name}-${n}`;
    const host = first + vms.length;
    vms.push({
      name,
      controller: lc.name,
      context: {
        hostname: `${name}.bench.example`,
        network: { method: 'static', address: `198.51.100.${host}/24`, gateway: '198.51.100.1', nameservers: ['198.51.100.1'] },
      },
    });
  }
}
const deployment = {
  name: 'bench-deploy',
  // The lab's template boots the lab's kernel from here on the controllers (as writeDeployment's deployments).
  hostPaths: ['/var/cache/vmctx/lab'],
  controllers,
  images: [{ name: 'bench-base', path: baseImage }],
  defaults: { image: 'bench-base', template, bridge: 'virbr0' },
  vms,
};
writeFileSync(out, `${JSON.stringify(deployment, null, 2)}\n`);
