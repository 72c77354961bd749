/**
 * The OCI lifecycle: create (the init waits on the exec fifo), start,
 * run (create + start + wait), kill, delete, state and list. Each step
 * that creates something registers its undo, so a failure leaves nothing
 * behind: no process, cgroup, mount or state directory.
 */
import { replaceFile } from "../native/replace-file.ts";
import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readFileSync, rmSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ContainrError, toContainrError, wrap } from "../diag/errors.ts";
import { failpoint } from "../diag/failpoints.ts";
import { debugEnabled, log, stepTimer } from "../diag/log.ts";
import { cgroupManagerFor, type CgroupManager } from "../linux/cgroups/index.ts";
import {
  closeFd,
  flock,
  forwardSignalsTo,
  LOCK_EX,
  mkfifo,
  pidfdOpen,
  pidfdSignal,
  pidfdWaitExit,
  reap,
  releaseExecFifo,
  spawnInitHelper,
  stopForwardingSignals,
  tryFlock,
  waitForwardingSignals,
  type SpawnedHelper,
} from "../native/runtime.ts";
import { loadBundle, type Bundle } from "./bundle.ts";
import { relayTerminal } from "../native/console.ts";
import { containerConfig } from "./config.ts";
import { checkHooks, hookStateJson, runHooks } from "./hooks.ts";
import { encodePlan, InitHook } from "./plan.ts";
import { withDeviceRules } from "./security.ts";
import { writeIdMaps, type IdMaps } from "./userns.ts";
import { SyncChannel } from "./protocol.ts";
import { OCI_VERSION } from "../oci/defaults.ts";
import {
  containerDir,
  ensureRoot,
  execFifoPath,
  isAlive,
  listIds,
  processStat,
  pausedMarker,
  readSavedSpec,
  readState,
  saveSpec,
  stateRoot,
  statusOf,
  withLock,
  writeState,
  type ContainerState,
  type Status,
} from "./state.ts";

export interface RuntimeContext {
  /** state root (--root) */
  root: string;
  /** --rootless: run without a cgroup when creating one is not permitted */
  rootless: boolean;
}

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  noPivot?: boolean;
  /** unix socket that receives the pty master (process.terminal) */
  consoleSocket?: string;
  /** do not give the container a session keyring of its own */
  noNewKeyring?: boolean;
  /** --preserve-fds N */
  preserveFds?: number;
  /**
   * How containr-init is started: by default as this process's child
   * (spawnInitHelper); the engine has the container's monitor start it, so
   * that the init is the monitor's child.
   */
  spawnHelper?: HelperSpawner;
}

/** Starts containr-init on a plan (cgroupFd: a v2 cgroup for CLONE_INTO_CGROUP, or -1). */
export type HelperSpawner = (plan: Uint8Array, cgroupFd: number) => SpawnedHelper;

/** Undo steps, run in reverse order when a lifecycle step fails. */
export class Undo {
  private readonly steps: { what: string; fn: () => void }[] = [];

  push(what: string, fn: () => void): void {
    this.steps.push({ what, fn });
  }

  run(): void {
    for (const step of this.steps.reverse()) {
      try {
        step.fn();
      } catch (err) {
        log.warn(`clean-up: ${step.what}: ${toContainrError(err).message}`);
      }
    }
  }
}

/** How long `start` waits for the init to take the exec fifo. */
const START_TIMEOUT_MS = 30_000;
/** How long kill/delete wait for a SIGKILLed process to go. */
const KILL_TIMEOUT_MS = 10_000;

export function writePidFile(path: string, pid: number): void {
  replaceFile(path, String(pid), 0o644, { durable: false });
}

/** The container's init: containr-init clones it with CLONE_PARENT, so it is the child of whoever started containr-init. */
export interface InitProcess {
  pid: number;
  pidfd: number;
  /** the parent's end of the sync socket */
  sock: number;
}

function killAndReap(child: InitProcess): void {
  pidfdSignal(child.pidfd, 9);
  // another process's child (the monitor's) is reaped there: wait until it is gone, so that its cgroup can go
  if (reap(child.pid) === undefined && !pidfdWaitExit(child.pidfd, KILL_TIMEOUT_MS)) {
    throw new ContainrError("TIMEOUT", `process ${child.pid} did not exit after SIGKILL`);
  }
}

interface Created {
  state: ContainerState;
  dir: string;
  child: InitProcess;
  channel: SyncChannel;
  cgroup: CgroupManager;
  undo: Undo;
  /** the pty master, when the process has a terminal and there is no console socket */
  terminal?: number;
}

/** containr-init, started on a plan: until it reports the process's pid. */
interface SpawnedInit {
  /** containr-init's pid while it is this process's child to reap (undefined: started by another process, or reaped) */
  helperPid?: number;
  sock: number;
  channel: SyncChannel;
}

/**
 * Start containr-init on a plan. cgroup: an existing v2 cgroup for clone3's
 * CLONE_INTO_CGROUP; without one, finishLaunch places the process by pid.
 */
function spawnInit(plan: Uint8Array, cgroup: CgroupManager | undefined, undo: Undo, timer: { step(what: string): void }, spawnHelper: HelperSpawner = spawnInitHelper): SpawnedInit {
  const unified = cgroup?.mode === "v2" ? cgroup.unifiedPath() : undefined;
  const cgroupFd = unified ? openSync(unified, constants.O_RDONLY | constants.O_DIRECTORY) : -1;
  let helper: SpawnedHelper;
  try {
    helper = spawnHelper(plan, cgroupFd);
  } finally {
    if (cgroupFd >= 0) closeSync(cgroupFd);
  }
  const spawned: SpawnedInit = { helperPid: helper.pid, sock: helper.sock, channel: new SyncChannel(helper.sock) };
  // in reverse: the socket's close ends a helper that still waits for the parent, then it is reaped
  undo.push("reap the init helper", () => spawned.helperPid === undefined || reap(spawned.helperPid));
  undo.push("close the sync socket", () => closeFd(spawned.sock));
  timer.step("spawn");
  return spawned;
}

/** Where a launch through containr-init goes and what it registers its undo steps and timings with. */
interface Launch {
  cgroup: CgroupManager;
  undo: Undo;
  timer: { step(what: string): void };
  /** the uid/gid maps of a new user namespace, written for the process */
  idMaps?: IdMaps;
  /** the CLI's signals go to the process from the moment it exists */
  forwardSignals?: boolean;
}

interface Launched {
  child: InitProcess;
  channel: SyncChannel;
}

/**
 * The rest of a launch through containr-init (a container's init, or an
 * `oci exec` process): write the uid/gid maps of a new user namespace, take
 * the process's pid (containr-init clones it with CLONE_PARENT: our child,
 * or the engine's monitor's), and place it in the cgroup. Each step
 * registers its undo.
 * forwardSignals: from the moment the process exists, signals to the CLI go
 * to it (a SIGTERM between its execve and the wait would otherwise end the
 * CLI and leave the container running); the caller stops forwarding.
 */
function finishLaunch(spawned: SpawnedInit, launch: Launch): Launched {
  const { cgroup, undo, timer, idMaps, forwardSignals = false } = launch;
  const { sock, channel } = spawned;
  if (idMaps) {
    // containr-init's own pid: this process may not have started it
    writeIdMaps(channel.waitForMapsRequest(), idMaps);
    channel.sendMapsWritten();
  }
  const init = channel.waitForChildPid();
  // the helper exits right after CHILD_PID; the init, its sibling, is the child of the helper's parent
  if (spawned.helperPid !== undefined) reap(spawned.helperPid);
  spawned.helperPid = undefined;
  const child: InitProcess = { pid: init.pid, pidfd: pidfdOpen(init.pid), sock };
  undo.push("stop the container process", () => killAndReap(child));
  if (forwardSignals) {
    forwardSignalsTo(child.pid);
    undo.push("stop forwarding signals", stopForwardingSignals);
  }
  timer.step("namespaces and clone");

  channel.waitForCgroupWait();
  if (!init.inCgroup) cgroup.addProcess(child.pid);
  channel.sendCgroupDone();
  return { child, channel };
}

/** Start a process from a plan through containr-init into an existing cgroup (spawnInit, then finishLaunch). */
export function launchInit(plan: Uint8Array, launch: Launch): Launched {
  return finishLaunch(spawnInit(plan, launch.cgroup, launch.undo, launch.timer), launch);
}

/**
 * Everything up to the child's READY. With an exec fifo (create) the init
 * then blocks until start; without one (run) it goes on to execve.
 */
function setUp(ctx: RuntimeContext, o: CreateOptions & { detach?: boolean }, withFifo: boolean): Created {
  const timer = stepTimer(`create ${o.id}`);
  const dir = containerDir(ctx.root, o.id);
  const bundle = loadBundle(o.bundle);
  const config = containerConfig(bundle);
  checkTerminalOptions(config.security.terminal !== undefined, o.consoleSocket, withFifo || o.detach === true);
  checkPreservedFds(o.preserveFds ?? 0);
  timer.step("config");

  ensureRoot(ctx.root);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new ContainrError("CONTAINER_EXISTS", `container ${o.id} already exists`, {
        hint: `choose another id, or remove it with 'containr oci delete --force ${o.id}'`,
      });
    }
    throw err;
  }
  const undo = new Undo();
  undo.push(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const lockFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    flock(lockFd, LOCK_EX, `lock ${dir}`);
    failpoint("oci.create.state-dir");
    const fifo = withFifo ? execFifoPath(dir) : undefined;
    if (fifo) mkfifo(fifo, 0o622);

    const plan = encodePlan(config, {
      execFifo: fifo,
      noPivot: o.noPivot,
      consoleSocket: o.consoleSocket,
      keyring: o.noNewKeyring ? undefined : sessionKeyring(o.id),
      hookStates: initHookStates(o.id, bundle),
      preserveFds: o.preserveFds,
    });
    // containr-init first, without CLONE_INTO_CGROUP: while it starts, creates
    // the namespaces and clones the init (on the other core), this process
    // reads the host's cgroup layout and creates the cgroup; the init waits
    // for its placement by pid (CGROUP_WAIT) before it does anything.
    const spawned = spawnInit(plan, undefined, undo, timer, o.spawnHelper);
    failpoint("oci.create.spawned");
    const cgroup = cgroupManagerFor({ containerId: o.id, cgroupsPath: bundle.spec.linux?.cgroupsPath, rootless: ctx.rootless });
    cgroup.create(withDeviceRules(bundle.spec.linux?.resources, config.devices));
    undo.push("remove the cgroup", () => cgroup.destroy());
    failpoint("oci.create.cgroup");
    timer.step("cgroup");
    const { child, channel } = finishLaunch(spawned, { cgroup, undo, timer, idMaps: config.idMaps, forwardSignals: !withFifo && o.detach !== true });
    timer.step("cgroup placement");
    failpoint("oci.create.placed");
    if (config.hooks.prestart.length + config.hooks.createRuntime.length > 0) {
      channel.waitForHooksRequest();
      const hookState = { ociVersion: OCI_VERSION, id: o.id, status: "creating" as const, pid: child.pid, bundle: bundle.dir, annotations: bundle.spec.annotations };
      runHooks("prestart", config.hooks.prestart, hookState);
      runHooks("createRuntime", config.hooks.createRuntime, hookState);
      channel.sendHooksDone();
      timer.step("prestart and createRuntime hooks");
    }
    channel.waitForMountsDone();
    failpoint("oci.create.mounted");
    timer.step("mounts");
    const terminal = config.security.terminal && !o.consoleSocket ? channel.receiveTerminal() : undefined;
    if (terminal !== undefined) undo.push("close the terminal", () => closeFd(terminal));
    channel.waitForReady();
    timer.step("init ready");

    const stat = processStat(child.pid);
    const state: ContainerState = {
      ociVersion: OCI_VERSION,
      id: o.id,
      pid: child.pid,
      processStartTime: stat?.startTime ?? "",
      bundle: bundle.dir,
      rootfs: bundle.rootfs,
      created: rfc3339Nano(new Date()),
      owner: ownerName(),
      annotations: bundle.spec.annotations ?? {},
      cgroupsPath: bundle.spec.linux?.cgroupsPath,
      cgroupPaths: cgroup.paths(),
    };
    writeState(dir, state);
    saveSpec(dir, bundle.spec);
    if (o.pidFile) writePidFile(o.pidFile, child.pid);
    failpoint("oci.create.state-written");
    timer.done();
    return { state, dir, child, channel, cgroup, undo, terminal };
  } catch (err) {
    undo.run();
    throw wrap(err, "create container");
  } finally {
    closeSync(lockFd);
  }
}

/** runc's time format (Go's RFC3339Nano); JavaScript dates stop at milliseconds. */
function rfc3339Nano(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}

/** The caller's user name from /etc/passwd (Bun's os.userInfo() reports "unknown"), else the uid. */
function ownerName(): string {
  const uid = String(process.getuid?.() ?? 0);
  try {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.split(":")[2] === uid);
    return line?.split(":")[0] || uid;
  } catch {
    return uid;
  }
}

/** `oci create`: the container's init is set up and waits for start. */
export function createContainer(ctx: RuntimeContext, o: CreateOptions): ContainerState {
  const created = setUp(ctx, o, true);
  closeFd(created.child.sock);
  closeFd(created.child.pidfd);
  return created.state;
}

/** A pidfd of the container's init, checked against the recorded start time. */
export function openInit(state: ContainerState): number | undefined {
  let pidfd: number;
  try {
    pidfd = pidfdOpen(state.pid);
  } catch {
    return undefined;
  }
  // checked after opening: the pidfd now pins this very process
  if (!isAlive(state)) {
    closeFd(pidfd);
    return undefined;
  }
  return pidfd;
}

function invalidState(id: string, action: string, status: Status, hint?: string): ContainrError {
  return new ContainrError("INVALID_STATE", `cannot ${action} container ${id}: it is ${status}`, { hint });
}

/** `oci start`: release the init blocked on the exec fifo. */
export function startContainer(ctx: RuntimeContext, id: string): void {
  const dir = containerDir(ctx.root, id);
  const state = readState(ctx.root, id);
  withLock(dir, () => {
    const status = statusOf(state, dir);
    if (status !== "created") throw invalidState(id, "start", status, status === "stopped" ? `remove it with 'containr oci delete ${id}'` : undefined);
    const pidfd = openInit(state);
    if (pidfd === undefined) throw invalidState(id, "start", "stopped");
    try {
      const fifo = execFifoPath(dir);
      const result = releaseExecFifo(fifo, pidfd, START_TIMEOUT_MS);
      unlinkSync(fifo);
      if (result === "dead") throw new ContainrError("CONTAINER_INIT_FAILED", `start container ${id}: its init exited before it could run the command`);
    } finally {
      closeFd(pidfd);
    }
    runPoststart(state, dir);
  });
}

/**
 * `oci run`: create and start in one go, then (unless detached) wait for
 * the container, forwarding signals to it, remove it, and return its
 * exit status (128+n for signal n).
 */
export function runContainer(ctx: RuntimeContext, o: CreateOptions & { detach?: boolean }): number {
  // performance.now() counts from the process's start: Bun's own start-up, module loading and argv parsing
  if (debugEnabled()) log.debug(`run ${o.id}: start-up until here took ${performance.now().toFixed(2)} ms`);
  const timer = stepTimer(`run ${o.id}`);
  const created = setUp(ctx, o, false);
  const { child, undo } = created;
  timer.step("create");
  try {
    created.channel.waitForExec();
  } catch (err) {
    undo.run();
    throw wrap(err, "run container");
  }
  closeFd(child.sock);
  timer.step("start (execve)");
  runPoststart(created.state, created.dir);
  if (o.detach) {
    closeFd(child.pidfd);
    return 0;
  }
  const status = created.terminal !== undefined ? relayTerminal(created.terminal, child.pid) : waitForwardingSignals(child.pid);
  if (created.terminal !== undefined) closeFd(created.terminal);
  closeFd(child.pidfd);
  stopForwardingSignals();
  timer.step("wait (the container ran)");
  // the manager that created the cgroup: no second look at the host's layout
  destroy(created.state, created.dir, created.cgroup);
  timer.step("destroy");
  timer.done();
  return status;
}

export function managerOf(ctx: RuntimeContext, state: ContainerState): CgroupManager {
  return cgroupManagerFor({ containerId: state.id, cgroupsPath: state.cgroupsPath, paths: state.cgroupPaths, rootless: ctx.rootless });
}

/** `oci kill`: signal the init, or with all every process in the container's cgroup. */
export function killContainer(ctx: RuntimeContext, id: string, signal: number, all = false): void {
  const dir = containerDir(ctx.root, id);
  const state = readState(ctx.root, id);
  const status = statusOf(state, dir);
  if (status === "stopped" && !all) throw new ContainrError("INVALID_STATE", `container ${id} is not running`);
  if (all) {
    managerOf(ctx, state).killAll(signal);
    return;
  }
  const pidfd = openInit(state);
  if (pidfd === undefined) throw new ContainrError("INVALID_STATE", `container ${id} is not running`);
  try {
    pidfdSignal(pidfd, signal);
  } finally {
    closeFd(pidfd);
  }
}

/** Kill the init and everything in its cgroup, and wait until the init is gone. */
function stopProcesses(state: ContainerState, cgroup: CgroupManager): void {
  const pidfd = openInit(state);
  if (pidfd !== undefined) {
    try {
      pidfdSignal(pidfd, 9);
      if (!pidfdWaitExit(pidfd, KILL_TIMEOUT_MS)) {
        throw new ContainrError("TIMEOUT", `container ${state.id}: process ${state.pid} did not exit after SIGKILL`);
      }
    } finally {
      closeFd(pidfd);
    }
  }
  try {
    cgroup.killAll(9);
  } catch (err) {
    log.debug(`delete ${state.id}: signal the cgroup: ${toContainrError(err).message}`);
  }
}

/** Remove what a container left: its processes, cgroup and state directory. */
function destroy(state: ContainerState, dir: string, cgroup: CgroupManager): void {
  const spec = readSavedSpec(dir);
  // a frozen process cannot die: thaw a paused container first
  if (existsSync(pausedMarker(dir))) cgroup.thaw();
  stopProcesses(state, cgroup);
  cgroup.destroy();
  rmSync(dir, { recursive: true, force: true });
  // after the container is gone, in the runtime's namespaces; a failure is only a warning (runtime spec)
  const poststop = spec ? checkHooks(spec.hooks).poststop : [];
  if (poststop.length > 0) runHooks("poststop", poststop, { ...hookStateOf(state), status: "stopped", pid: undefined }, true);
}

function hookStateOf(state: ContainerState) {
  return { ociVersion: state.ociVersion, id: state.id, pid: state.pid, bundle: state.bundle, annotations: state.annotations };
}

/** poststart hooks, once the process runs; a failure is only a warning (runtime spec). */
function runPoststart(state: ContainerState, dir: string): void {
  const spec = readSavedSpec(dir);
  const poststart = spec ? checkHooks(spec.hooks).poststart : [];
  if (poststart.length > 0) runHooks("poststart", poststart, { ...hookStateOf(state), status: "running" }, true);
}

/** runc's session keyring name; `oci exec` joins the same one. */
export const sessionKeyring = (id: string) => `_ses.${id}`;

/** The state JSON, up to "pid":, for the hooks the init runs itself (csrc/lib/child-hooks.c). */
function initHookStates(id: string, bundle: Bundle): Partial<Record<InitHook, string>> {
  const base = { ociVersion: OCI_VERSION, id, bundle: bundle.dir, annotations: bundle.spec.annotations };
  return {
    [InitHook.CreateContainer]: hookStateJson({ ...base, status: "creating" }),
    [InitHook.StartContainer]: hookStateJson({ ...base, status: "created" }),
  };
}

/** --preserve-fds N: the caller's fds 3 .. 3+N-1 must be open (runc passes them as they are). */
export function checkPreservedFds(n: number): void {
  if (n > 1024) throw new ContainrError("USAGE", `--preserve-fds ${n}: at most 1024 descriptors`);
  for (let fd = 3; fd < 3 + n; fd++) {
    try {
      fstatSync(fd);
    } catch {
      throw new ContainrError("USAGE", `--preserve-fds ${n}: fd ${fd} is not open`, { hint: `open fds 3 to ${2 + n} for the container, or pass a smaller count` });
    }
  }
}

/**
 * runc's rules: a terminal needs somewhere to go (a console socket, or the
 * caller's terminal when it waits), and a console socket needs a terminal.
 * A socket that is not there is refused before anything is created.
 */
export function checkTerminalOptions(terminal: boolean, consoleSocket: string | undefined, detached: boolean): void {
  if (consoleSocket !== undefined) {
    if (!terminal) throw new ContainrError("USAGE", "--console-socket needs a terminal: set process.terminal to true", { hint: "or drop --console-socket" });
    let isSocket = false;
    try {
      isSocket = statSync(consoleSocket).isSocket();
    } catch {
      throw new ContainrError("USAGE", `console socket ${consoleSocket} does not exist`, { hint: "start the program that receives the terminal (it listens on a unix socket) and pass its path" });
    }
    if (!isSocket) throw new ContainrError("USAGE", `console socket ${consoleSocket} is not a unix socket`);
    return;
  }
  if (terminal && detached) {
    throw new ContainrError("USAGE", "cannot allocate a terminal for a detached container without --console-socket", {
      hint: 'pass --console-socket SOCKET, or set process.terminal to false',
    });
  }
}

/** `oci delete`: a running container needs force; a created one is stopped first (as runc). */
export function deleteContainer(ctx: RuntimeContext, id: string, force = false): void {
  const dir = containerDir(ctx.root, id);
  const state = readState(ctx.root, id);
  withLock(dir, () => {
    const status = statusOf(state, dir);
    if (status === "running" && !force) {
      throw invalidState(id, "delete", status, `stop it first ('containr oci kill ${id}'), or use 'containr oci delete --force ${id}'`);
    }
    destroy(state, dir, managerOf(ctx, state));
  });
}

/**
 * Remove what a create left when its process was killed before it wrote the
 * state (the engine's CLI, which runs the create, killed during `run` or
 * `start`): the cgroup and the state directory; its processes died with
 * their parent (PR_SET_PDEATHSIG until READY). A create still running holds
 * the directory's lock and is left alone. bundleDir: the container's bundle,
 * for linux.cgroupsPath.
 */
export function discardUnfinishedCreate(ctx: RuntimeContext, id: string, bundleDir: string): void {
  const dir = containerDir(ctx.root, id);
  if (!existsSync(dir) || existsSync(join(dir, "state.json"))) return;
  const lockFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    if (!tryFlock(lockFd, LOCK_EX, `lock ${dir}`) || existsSync(join(dir, "state.json"))) return;
    const cgroup = cgroupManagerFor({ containerId: id, cgroupsPath: loadBundle(bundleDir).spec.linux?.cgroupsPath, rootless: ctx.rootless });
    try {
      cgroup.killAll(9);
    } catch (err) {
      log.debug(`discard ${id}: signal the cgroup: ${toContainrError(err).message}`);
    }
    cgroup.destroy();
    rmSync(dir, { recursive: true, force: true });
  } finally {
    closeSync(lockFd);
  }
}

/** runc's state JSON. */
export interface StateReport {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

function report(ctx: RuntimeContext, state: ContainerState): StateReport {
  const status = statusOf(state, containerDir(ctx.root, state.id));
  const out: StateReport = {
    ociVersion: state.ociVersion,
    id: state.id,
    pid: status === "stopped" ? 0 : state.pid,
    status,
    bundle: state.bundle,
    rootfs: state.rootfs,
    created: state.created,
    owner: state.owner,
  };
  if (Object.keys(state.annotations ?? {}).length > 0) out.annotations = state.annotations;
  return out;
}

export function containerState(ctx: RuntimeContext, id: string): StateReport {
  return report(ctx, readState(ctx.root, id));
}

export function listContainers(ctx: RuntimeContext): StateReport[] {
  const reports: StateReport[] = [];
  for (const id of listIds(ctx.root)) {
    try {
      reports.push(report(ctx, readState(ctx.root, id)));
    } catch (err) {
      log.warn(`list: ${toContainrError(err).message}`);
    }
  }
  return reports;
}

/** The runtime context from `containr oci`'s global flags (--root, --rootless true|false|auto). */
export function runtimeContext(globals: Record<string, unknown>): RuntimeContext {
  const rootless = globals.rootless;
  if (rootless !== undefined && rootless !== "true" && rootless !== "false" && rootless !== "auto") {
    throw new ContainrError("USAGE", `invalid value "${String(rootless)}" for --rootless: expected true, false or auto`);
  }
  return {
    root: stateRoot(typeof globals.root === "string" ? globals.root : undefined),
    rootless: rootless === "true" || ((rootless === undefined || rootless === "auto") && process.getuid?.() !== 0),
  };
}
