/**
 * Benchmark of the deployer against many controllers, simulated: `deploy`, a no-change `plan` and `destroy` of 2 VMs
 * per controller, for 1 (the reference), 10, 50, 100 and 200 controllers, each size in fresh processes:
 * - a controllers process holds the N simulated controllers (apps/deployer's FakeController: an ssh2 server on
 *   127.0.0.1 per controller, each command run by a real `sh -c` with the fake virsh and ip, state kept as files);
 * - a deployer process runs `runDeploy`, `runDeploy` with dryRun (plan) and `runDestroy` against them, as the
 *   `vmctx` commands call them, and measures each: wall time, its own CPU, the controllers process's CPU (with its
 *   shells: /proc/PID/stat, children included), its peak RSS (VmHWM), the most sockets it held at once (sampled) and
 *   the event loop's longest stall. Its peak RSS is the deployer's alone: the controllers are not in it.
 * Every run checks the outcome (every VM created, then unchanged with no change planned, then removed, nothing left).
 * Rounds run every size once, sizes in a shuffled order per round; the table gives median (min-max) over rounds.
 *
 * Run by deploy-scale.sh, which bundles this file (rolldown, the workspace's TypeScript sources) and runs it:
 *   bash tools/bench/deploy-scale.sh [ROUNDS]      (default 3)
 * Environment: SCALE_SIZES="1 10 50 100 200", SCALE_VMS=2 (VMs per controller), SCALE_CONCURRENCY (the deployer's
 * controllerConcurrency; unset: its default; 0: no limit), SCALE_PROFILE=DIR (the deployer process runs under
 * `node --cpu-prof`, its profiles in DIR).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DEMO, vmArtifacts } from '../../apps/deployer/src/artifacts/vm-artifacts.fixture.js';
import type { ControllerConfig, Deployment } from '../../apps/deployer/src/config/types.js';
import { FakeController, putLink } from '../../apps/deployer/src/controller/fake-controller.fixture.js';
import { runDeploy } from '../../apps/deployer/src/deploy/deploy.js';
import { runDestroy } from '../../apps/deployer/src/deploy/destroy.js';
import type { EventSink } from '../../apps/deployer/src/deploy/events.js';
import { openSockets } from '../../apps/deployer/src/util/open-sockets.fixture.js';

const PHASES = ['deploy', 'plan', 'destroy'] as const;
type Phase = (typeof PHASES)[number];

interface PhaseFigures {
  wallMs: number;
  /** CPU of the deployer process (user + system). */
  deployerCpuMs: number;
  /** CPU of the controllers process and its finished children (the shells). */
  controllersCpuMs: number;
  /** Of which the controllers process itself (ssh2's server side, spawning the shells). */
  controllersNodeCpuMs: number;
  /** From a controller's 'connecting' to its 'done' (the deployer's events): the median one and the slowest. */
  controllerMedianMs: number;
  controllerSlowestMs: number;
  /** Sockets the deployer process held at once, most seen (sampled every 200 ms). */
  sockets: number;
  /** Highest RSS sampled during the phase. */
  rssMiB: number;
  /** Longest the event loop was held. */
  loopMaxMs: number;
}

interface RunFigures {
  controllers: number;
  vms: number;
  phases: Record<Phase, PhaseFigures>;
  /** RSS after the artifacts were made, before any connection. */
  baseRssMiB: number;
  /** VmHWM at the end: the process's peak. */
  peakRssMiB: number;
  /** The most SSH sessions open at once on one controller. */
  maxSessions: number;
  problems: string[];
  load: [number, number];
}

// ---------------------------------------------------------------------------------------------------- measures

/** utime + stime (+ cutime + cstime) of a process, in ms (USER_HZ is 100 on Linux). */
function processCpuMs(pid: number | 'self', children: boolean): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
  return ticks * 10;
}

function statusMiB(field: 'VmHWM' | 'VmRSS'): number {
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kb) / 1024;
}

async function measured<T>(controllersPid: number, work: (events: EventSink) => Promise<T>): Promise<{ result: T; figures: PhaseFigures }> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  let sockets = openSockets();
  let rss = statusMiB('VmRSS');
  // Not more often: /proc/self/fd read every 50 ms was an eighth of the deployer's CPU at 100 controllers.
  const sampler = setInterval(() => {
    sockets = Math.max(sockets, openSockets());
    rss = Math.max(rss, statusMiB('VmRSS'));
  }, 200);
  const began = new Map<string, number>();
  const took: number[] = [];
  const events: EventSink = (event) => {
    if (event.type !== 'controller') return;
    if (event.phase === 'connecting') began.set(event.controller, performance.now());
    else if (event.phase === 'done' || event.phase === 'failed' || event.phase === 'skipped') took.push(performance.now() - began.get(event.controller)!);
  };
  const cpu0 = process.cpuUsage();
  const controllers0 = processCpuMs(controllersPid, true);
  const controllersNode0 = processCpuMs(controllersPid, false);
  const t0 = performance.now();
  loop.enable();
  const result = await work(events);
  loop.disable();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  return {
    result,
    figures: {
      wallMs,
      deployerCpuMs: (cpu.user + cpu.system) / 1000,
      controllersCpuMs: processCpuMs(controllersPid, true) - controllers0,
      controllersNodeCpuMs: processCpuMs(controllersPid, false) - controllersNode0,
      controllerMedianMs: took.sort((a, b) => a - b)[Math.floor(took.length / 2)] ?? 0,
      controllerSlowestMs: took.at(-1) ?? 0,
      sockets: Math.max(sockets, openSockets()),
      rssMiB: Math.max(rss, statusMiB('VmRSS')),
      loopMaxMs: loop.max / 1e6,
    },
  };
}

// ---------------------------------------------------------------------------------------------- the processes

type ToParent = { controllers: ControllerConfig[] } | { sessions: number[] } | { figures: RunFigures };
const send = (message: ToParent) => process.send!(message);

/** The controllers process: N simulated controllers until told to close. */
async function serveControllers(n: number): Promise<void> {
  const fakes: FakeController[] = [];
  for (let i = 0; i < n; i++) {
    const fake = await FakeController.start();
    fake.trustHostKey();
    putLink(fake, 'br0', 'bridge', true);
    fakes.push(fake);
  }
  process.on('message', (message: string) => {
    if (message === 'sessions') send({ sessions: fakes.map((f) => f.maxOpenSessions) });
    if (message === 'close') void Promise.all(fakes.map((f) => f.close())).then(() => process.exit(0));
  });
  send({ controllers: fakes.map((f, i) => f.controller({ name: `lc${i + 1}`, where: `controllers[${i}]` })) });
}

/** The deployer process: deploy, plan, destroy over the controllers it is given, with their figures. */
async function deployAll(controllers: ControllerConfig[], controllersPid: number, vmsEach: number, concurrency: number | undefined): Promise<RunFigures> {
  const load0 = loadavg()[0]!;
  const local = mkdtempSync(join(tmpdir(), 'vmctx-bench-scale-'));
  try {
    const deployment: Deployment = { name: DEMO.name, id: DEMO.id!, file: join(local, 'deployment.yaml'), controllers, images: [], vms: [], hostPaths: [], trustTemplates: false };
    const artifacts = controllers.flatMap((controller) => Array.from({ length: vmsEach }, (_, i) => vmArtifacts({ name: `${controller.name}-vm${i + 1}`, local, controller })));
    const options = {
      wait: false,
      waitTimeoutMs: 1000,
      ...(concurrency === undefined ? {} : { controllerConcurrency: concurrency === 0 ? Infinity : concurrency }),
    };
    const baseRssMiB = statusMiB('VmRSS');
    const problems: string[] = [];
    const deploy = await measured(controllersPid, (events) => runDeploy(deployment, artifacts, { ...options, events }));
    const created = deploy.result.controllers.flatMap((c) => c.vms).filter((v) => v.status === 'created').length;
    if (!deploy.result.ok || created !== artifacts.length) problems.push(`deploy: ${created}/${artifacts.length} created; ${deploy.result.controllers.find((c) => c.error)?.error?.message ?? ''}`);
    const plan = await measured(controllersPid, (events) => runDeploy(deployment, artifacts, { ...options, events, dryRun: true }));
    const unchanged = plan.result.controllers.flatMap((c) => c.plan?.steps ?? []).filter((s) => s.action === 'unchanged').length;
    if (!plan.result.ok || plan.result.changes || unchanged !== artifacts.length) problems.push(`plan: changes ${plan.result.changes}, ${unchanged}/${artifacts.length} unchanged`);
    const destroy = await measured(controllersPid, (events) => runDestroy(deployment, { ...options, events }));
    const removed = destroy.result.controllers.flatMap((c) => c.domains).length;
    if (!destroy.result.ok || removed !== artifacts.length) problems.push(`destroy: ${removed}/${artifacts.length} removed; ${destroy.result.controllers.find((c) => c.error)?.error?.message ?? ''}`);
    return {
      controllers: controllers.length,
      vms: artifacts.length,
      phases: { deploy: deploy.figures, plan: plan.figures, destroy: destroy.figures },
      baseRssMiB,
      peakRssMiB: statusMiB('VmHWM'),
      maxSessions: 0,
      problems,
      load: [load0, loadavg()[0]!],
    };
  } finally {
    rmSync(local, { recursive: true, force: true });
  }
}

// -------------------------------------------------------------------------------------------- the orchestrator

const self = fileURLToPath(import.meta.url);

function next<T extends ToParent>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ToParent) => {
      if (key in message) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as T);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${child.spawnargs.slice(2).join(' ')} exited ${code} before sending ${key}`));
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function oneRun(n: number, vmsEach: number): Promise<RunFigures> {
  const controllersProcess = fork(self, ['controllers', String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { controllers } = await next<{ controllers: ControllerConfig[] }>(controllersProcess, 'controllers');
    const profile = process.env.SCALE_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.SCALE_PROFILE] : [];
    const deployer = fork(self, ['deployer', String(controllersProcess.pid), String(vmsEach), process.env.SCALE_CONCURRENCY ?? ''], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: profile });
    const figures = next<{ figures: RunFigures }>(deployer, 'figures');
    deployer.send({ controllers });
    const run = (await figures).figures;
    deployer.disconnect();
    controllersProcess.send('sessions');
    run.maxSessions = Math.max(...(await next<{ sessions: number[] }>(controllersProcess, 'sessions')).sessions);
    return run;
  } finally {
    controllersProcess.send('close');
    await new Promise((resolve) => controllersProcess.once('exit', resolve));
  }
}

/** The values in a pseudo-random order fixed by `seed` (Fisher-Yates over a small LCG). */
function shuffled<T>(values: readonly T[], seed: number): T[] {
  const out = [...values];
  let x = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = (x >>> 16) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** "median (min-max)" of the values. */
function spread(values: number[], digits = 1): string {
  const v = [...values].sort((a, b) => a - b);
  const median = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return v.length === 1 ? median.toFixed(digits) : `${median.toFixed(digits)} (${v[0]!.toFixed(digits)}-${v.at(-1)!.toFixed(digits)})`;
}

async function orchestrate(rounds: number): Promise<void> {
  const sizes = (process.env.SCALE_SIZES ?? '1 10 50 100 200').split(/\s+/).filter(Boolean).map(Number);
  const vmsEach = Number(process.env.SCALE_VMS ?? 2);
  const runs = new Map<number, RunFigures[]>(sizes.map((n) => [n, []]));
  console.log(`deploy-scale: ${sizes.join(', ')} controllers, ${vmsEach} VMs each, ${rounds} round(s); controllerConcurrency ${process.env.SCALE_CONCURRENCY || 'default'}; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (let round = 0; round < rounds; round++) {
    // A size that always ran after the largest one would inherit its load: another order each round (seeded).
    const order = shuffled(sizes, round + 1);
    for (const n of order) {
      const run = await oneRun(n, vmsEach);
      runs.get(n)!.push(run);
      const p = run.phases;
      console.log(
        `  round ${round + 1}, ${n} controllers: deploy ${(p.deploy.wallMs / 1000).toFixed(2)} s, plan ${(p.plan.wallMs / 1000).toFixed(2)} s, destroy ${(p.destroy.wallMs / 1000).toFixed(2)} s; ` +
          `peak RSS ${run.peakRssMiB.toFixed(0)} MiB; load ${run.load.map((l) => l.toFixed(1)).join('-')}${run.problems.length ? `; PROBLEMS: ${run.problems.join('; ')}` : ''}`,
      );
    }
  }
  const rows = sizes.map((n) => runs.get(n)!);
  const col = (f: (r: RunFigures) => number, digits = 1) => rows.map((r) => spread(r.map(f), digits));
  const table: [string, string[]][] = [
    ['VMs', rows.map((r) => String(r[0]!.vms))],
    ...PHASES.flatMap((phase): [string, string[]][] => [
      [`${phase}: wall s`, col((r) => r.phases[phase].wallMs / 1000, 2)],
      [`${phase}: one controller, median s`, col((r) => r.phases[phase].controllerMedianMs / 1000, 2)],
      [`${phase}: one controller, slowest s`, col((r) => r.phases[phase].controllerSlowestMs / 1000, 2)],
      [`${phase}: deployer CPU s`, col((r) => r.phases[phase].deployerCpuMs / 1000, 2)],
      [`${phase}: deployer busy, % of wall`, col((r) => (100 * r.phases[phase].deployerCpuMs) / r.phases[phase].wallMs, 0)],
      [`${phase}: controllers CPU s (ssh2 server + shells)`, col((r) => r.phases[phase].controllersCpuMs / 1000, 2)],
      [`${phase}: of which ssh2 server and spawning s`, col((r) => r.phases[phase].controllersNodeCpuMs / 1000, 2)],
      [`${phase}: event loop, longest stall ms`, col((r) => r.phases[phase].loopMaxMs, 0)],
    ]),
    ['deployer RSS before connecting MiB', col((r) => r.baseRssMiB, 0)],
    ['deployer peak RSS (VmHWM) MiB', col((r) => r.peakRssMiB, 0)],
    ['deployer sockets at once, most', col((r) => Math.max(...PHASES.map((p) => r.phases[p].sockets)), 0)],
    ['SSH sessions at once on one controller, most', col((r) => r.maxSessions, 0)],
    ['load average (1 min) during the runs', rows.map((r) => `${Math.min(...r.flatMap((x) => x.load)).toFixed(1)}-${Math.max(...r.flatMap((x) => x.load)).toFixed(1)}`)],
  ];
  console.log(`\n| controllers | ${sizes.join(' | ')} |\n|---|${sizes.map(() => '---').join('|')}|`);
  for (const [label, cells] of table) console.log(`| ${label} | ${cells.join(' | ')} |`);
  const failed = [...runs.values()].flat().filter((r) => r.problems.length > 0);
  if (failed.length > 0) {
    console.error(`deploy-scale: ${failed.length} run(s) did not end as expected`);
    process.exitCode = 1;
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'controllers') await serveControllers(Number(args[0]));
else if (mode === 'deployer') {
  process.once('message', (message: { controllers: ControllerConfig[] }) => {
    void deployAll(message.controllers, Number(args[0]), Number(args[1]), args[2] ? Number(args[2]) : undefined).then((figures) => send({ figures }));
  });
} else await orchestrate(Number(mode ?? 3));
