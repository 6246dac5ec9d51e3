/**
 * Issue 19, scale by simulation: `deploy`, a no-change `plan` and `destroy` across 50 controllers, each an ssh2
 * server in this process (FakeController: every command the deployer sends run by a real `sh -c`, with the fake
 * virsh keeping its domains as files). Behaviour, not timing: every VM created, then unchanged with nothing to do,
 * then removed and nothing left; no more controllers connected at once than controllerConcurrency, no more SSH
 * sessions at once on a controller than the connection's channel bound, and the process's sockets bounded by those,
 * not by the number of controllers. tools/bench/deploy-scale.ts measures time and memory from 10 to 200.
 *
 * Time: each command the deployer sends costs its controller a few processes (sh, the fake virsh, cat, stat...),
 * 5-10 ms of CPU each on the busy 2-core CI machine, all on the cores the test runs on: one VM per controller (22
 * commands for the three runs) keeps the 50 at 48-65 s there under load 9-15. The timeout is a hang detector.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmArtifacts } from '../artifacts/build.js';
import { DEMO, vmArtifacts } from '../artifacts/vm-artifacts.fixture.js';
import type { ControllerConfig, Deployment } from '../config/types.js';
import { ControllerConnection } from '../controller/connection.js';
import { FakeController, putLink } from '../controller/fake-controller.fixture.js';
import { runDeploy } from './deploy.js';
import { runDestroy } from './destroy.js';
import { DEFAULT_CONTROLLER_CONCURRENCY, forEachController, type Connect, type ControllerWork } from './session.js';
import { statePath } from './state.js';
import { openSockets } from '../util/open-sockets.fixture.js';

const CONTROLLERS = 50;
/** Under the controller count, so that the bound is seen to hold (and to be reached). */
const AT_ONCE = 8;
/** ControllerConnection's default maxChannels: what one connection may have open at once. */
const CHANNELS = 8;

let fakes: FakeController[] = [];
let local: string;
let controllers: ControllerConfig[];
let deployment: Deployment;
let artifacts: VmArtifacts[];

beforeAll(async () => {
  local = mkdtempSync(join(tmpdir(), 'vmctx-scale-spec-'));
  fakes = await Promise.all(Array.from({ length: CONTROLLERS }, () => FakeController.start()));
  for (const fake of fakes) {
    fake.trustHostKey();
    putLink(fake, 'br0', 'bridge', true);
  }
  controllers = fakes.map((f, i) => f.controller({ name: `lc${i + 1}`, where: `controllers[${i}]` }));
  deployment = { name: DEMO.name, id: DEMO.id!, file: join(local, 'deployment.yaml'), controllers, images: [], vms: [], hostPaths: [], trustTemplates: false };
  artifacts = controllers.map((controller) => vmArtifacts({ name: `${controller.name}-web`, local, controller }));
});
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  rmSync(local, { recursive: true, force: true });
});

/** Sockets this process holds (the controllers' listening ones, both ends of each connection, the shells' stdio). */
const sockets = openSockets;

/** Runs `work` while counting the deployer's open connections (exactly) and the process's sockets (sampled). */
async function watched<T>(work: (connect: Connect) => Promise<T>): Promise<{ result: T; connections: number; sockets: number }> {
  let open = 0;
  let connections = 0;
  const connect: Connect = async (controller, options) => {
    connections = Math.max(connections, ++open);
    const connection = await ControllerConnection.open(controller, options);
    const close = connection.close.bind(connection);
    connection.close = () => {
      open--;
      close();
    };
    return connection;
  };
  let most = sockets();
  const sampler = setInterval(() => (most = Math.max(most, sockets())), 25);
  try {
    return { result: await work(connect), connections, sockets: most };
  } finally {
    clearInterval(sampler);
  }
}

const domains = (fake: FakeController) => readdirSync(join(fake.state, 'domains')).filter((f) => f.endsWith('.xml'));
const domainState = (fake: FakeController, name: string) => readFileSync(join(fake.state, 'domains', `${name}.state`), 'utf8').trim();

describe(`${CONTROLLERS} simulated controllers, ${AT_ONCE} at once`, () => {
  it('deploys, plans no change and destroys on every one, with connections, sessions and sockets bounded', async () => {
    const idle = sockets();
    // Both ends of each connection, and per channel a command's three stdio sockets (Node gives a child
    // socketpairs); a closed connection's two may linger until its peer has seen the close.
    const bound = idle + AT_ONCE * (2 + 3 * CHANNELS) + 2 * AT_ONCE;
    const options = { events: () => undefined, wait: false, waitTimeoutMs: 1000, controllerConcurrency: AT_ONCE };

    const deploy = await watched((connect) => runDeploy(deployment, artifacts, { ...options, connect }));
    expect(deploy.result.ok).toBe(true);
    expect(deploy.result.controllers.flatMap((c) => c.vms.map((v) => [v.vm, v.status, v.state]))).toEqual(artifacts.map((a) => [a.vm.name, 'created', 'running']));
    for (const [i, fake] of fakes.entries()) {
      expect(domains(fake)).toEqual([`lc${i + 1}-web.xml`]);
      expect(domainState(fake, `lc${i + 1}-web`)).toBe('running');
    }

    const plan = await watched((connect) => runDeploy(deployment, artifacts, { ...options, connect, dryRun: true }));
    expect(plan.result.ok).toBe(true);
    expect(plan.result.changes).toBe(false);
    expect(plan.result.controllers.map((c) => c.plan?.uploads.length)).toEqual(controllers.map(() => 0));
    expect(plan.result.controllers.flatMap((c) => c.plan?.steps.map((s) => [s.vm, s.action]) ?? [])).toEqual(artifacts.map((a) => [a.vm.name, 'unchanged']));

    const destroy = await watched((connect) => runDestroy(deployment, { ...options, connect }));
    expect(destroy.result.ok).toBe(true);
    expect(destroy.result.controllers.map((c) => [c.controller, c.domains, c.left])).toEqual(controllers.map((c) => [c.name, [`${c.name}-web`], []]));
    for (const fake of fakes) {
      expect(domains(fake)).toEqual([]);
      expect(readdirSync(fake.imageDir).filter((f) => f !== '.vmctx')).toEqual([]);
      expect(existsSync(statePath(fake.imageDir, DEMO.name))).toBe(false);
    }

    for (const run of [deploy, plan, destroy]) {
      // The limit holds, and is reached: the controllers are worked on in parallel, AT_ONCE at a time.
      expect(run.connections).toBe(AT_ONCE);
      expect(run.sockets).toBeLessThanOrEqual(bound);
    }
    expect(Math.max(...fakes.map((f) => f.maxOpenSessions))).toBeLessThanOrEqual(CHANNELS);
  }, 240_000);
});

describe('forEachController', () => {
  /** Connections that cost nothing: what matters here is how many are open at once. */
  async function mostAtOnce(count: number, controllerConcurrency?: number): Promise<number> {
    const work: ControllerWork[] = Array.from({ length: count }, (_, i) => ({ controller: { ...controllers[0]!, name: `c${i}` }, vms: [] }));
    let open = 0;
    let most = 0;
    const connect: Connect = async (controller) => {
      most = Math.max(most, ++open);
      return { controller, close: () => open-- } as unknown as ControllerConnection;
    };
    const results = await forEachController(work, { events: () => undefined, connect, ...(controllerConcurrency ? { controllerConcurrency } : {}) }, async (c) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return c.controller.name;
    });
    expect(results.map((r) => ('result' in r ? r.result : r.error))).toEqual(work.map((w) => w.controller.name));
    return most;
  }

  it(`works on ${DEFAULT_CONTROLLER_CONCURRENCY} controllers at once by default, and on all with Infinity`, async () => {
    expect(await mostAtOnce(200)).toBe(DEFAULT_CONTROLLER_CONCURRENCY);
    expect(await mostAtOnce(200, 5)).toBe(5);
    expect(await mostAtOnce(200, Infinity)).toBe(200);
  });
});
