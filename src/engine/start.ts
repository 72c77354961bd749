/**
 * Starting a container (ADR 0007): the engine runs the runtime's create in
 * its own process, but containr-init is started by a fresh monitor
 * (csrc/bin/containr-monitor, through spawnMonitor), so that the
 * container's init is the monitor's child: the monitor becomes a child
 * subreaper, holds the container's stdio pipes, and outlives this command
 * (conmon's model). Once the init is READY and the runtime's state is
 * written, the engine tells the monitor the init's pid and releases the
 * init with the runtime's start (exec fifo).
 *
 * The monitor's argv carries the exit command: `containr --root R
 * --runroot RR container-exited ID`, which records the exit and applies
 * --rm and the restart policy (exited.ts).
 */
import { closeSync, constants, mkdirSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { ContainrError, toContainrError } from "../diag/errors.ts";
import { log, stepTimer } from "../diag/log.ts";
import { unixListen } from "../native/console.ts";
import { monitorPath } from "../native/monitor.ts";
import { closeFd, reap, spawnMonitor, type SpawnedMonitor } from "../native/runtime.ts";
import { createContainer as runtimeCreate, startContainer as runtimeStart, type HelperSpawner } from "../runtime/container.ts";
import { processStat } from "../runtime/state.ts";
import { observe, updateEngineState } from "./container-state.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import { hostConfigOfRecord, type HostConfig } from "./create.ts";
import type { ContainerRecord } from "./records.ts";
import { releaseRuntime } from "./teardown.ts";
import { mountRootfs } from "./rootfs.ts";
import { resolveImage } from "../image/store.ts";
import { isMountPoint } from "./teardown.ts";
import { mountVolumesForStart, volumeNames } from "./mounts.ts";
import { withVolumes } from "./volumes.ts";
import { allocateNetwork, connectNetwork, releaseNetwork, usesBridge } from "./network.ts";

/** Re-mount the root filesystem of a container that was stopped (its overlay is unmounted on exit). */
export function ensureRootfs(ctx: EngineContext, record: ContainerRecord): void {
  const paths = containerPaths(ctx, record.id);
  if (isMountPoint(paths.rootfs)) return;
  mountRootfs(paths, resolveImage(ctx.images.open(), record.imageId).layerDirs, hostConfigOfRecord(record).AutoRemove);
}

/** Everything the monitor wrote on its stderr (its diagnostics) until it closed it. */
function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf);
    } catch {
      break;
    }
    if (n <= 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("utf8").trim();
}

/**
 * The create failed, or the monitor did (the create then sees the sync
 * socket close): EOF on the control pipe ends a monitor still waiting for
 * the init's pid; once it has exited, its diagnostics say whether it was
 * the cause.
 */
function failedCreate(monitor: SpawnedMonitor, err: unknown): ContainrError {
  closeFd(monitor.control);
  const status = reap(monitor.pid);
  const diagnostics = readAll(monitor.diagnostics);
  closeFd(monitor.diagnostics);
  if (diagnostics === "") return toContainrError(err);
  log.debug(`the container's monitor exited with status ${status}; the create said: ${toContainrError(err).message}`);
  return new ContainrError("CONTAINER_INIT_FAILED", `the container's monitor failed: ${diagnostics}`);
}

export interface StartedContainer {
  monitorPid: number;
  initPid: number;
}

export interface StartOptions {
  /** open the container's stdin (a pipe the monitor feeds from attach clients) */
  stdin?: boolean;
  /** called after the monitor is ready and before the init runs: attach here to miss no output */
  beforeRelease?: () => Promise<void> | void;
}

/**
 * Start a created or exited container. A running one is left alone (as
 * `docker start` does). Leftovers of an earlier run whose clean-up did not
 * happen (a killed monitor) are removed first.
 */
export async function startContainer(ctx: EngineContext, record: ContainerRecord, options: StartOptions = {}): Promise<StartedContainer | undefined> {
  const { state } = observe(ctx, record);
  if (state.Running && !state.Restarting) return undefined;
  const timer = stepTimer(`start ${record.id}`);
  const paths = containerPaths(ctx, record.id);
  const hostConfig: HostConfig = hostConfigOfRecord(record);
  releaseRuntime(ctx, record.id);
  ensureRootfs(ctx, record);
  if (volumeNames(record.mounts).length > 0) withVolumes(ctx.dataRoot, (volumes) => mountVolumesForStart(volumes, record.mounts));
  rmSync(paths.run, { recursive: true, force: true });
  mkdirSync(paths.run, { recursive: true, mode: 0o700 });
  timer.step("prepare");

  const tty = (record.config as { Tty?: boolean }).Tty === true;
  const exitCommand = [...ctx.self, ...ctx.globalArgs, "container-exited", record.id];
  const logConfig = hostConfig.LogConfig;
  const args = ["-c", record.id, "-d", paths.run];
  if (logConfig.Type !== "none") {
    args.push("-l", paths.log, "-s", logConfig.Config["max-size"] ?? "0", "-n", logConfig.Config["max-file"] ?? "1");
  }
  if (options.stdin) args.push("-i");
  if (tty) args.push("-t");
  for (const word of exitCommand) args.push("-x", word);
  log.debug(`start ${record.id}: monitor ${args.join(" ")}`);

  // the address and host ports, and /etc/hosts with the address, before the create bind-mounts it
  const attachment = usesBridge(record) ? allocateNetwork(ctx, record) : undefined;
  if (attachment !== undefined) timer.step("network: address and ports");

  // -t: the init connects to DIR/console from the host's mount namespace, before READY,
  // while this process lives; the path through its fd stays short whatever the run root
  const runDir = openSync(paths.run, constants.O_RDONLY | constants.O_DIRECTORY);
  let consoleFd = -1;
  // set by the runtime's create when it starts containr-init (through the monitor)
  const spawned: { monitor?: SpawnedMonitor } = {};
  let initPid: number;
  try {
    if (tty) consoleFd = unixListen(`/proc/self/fd/${runDir}/console`);
    const spawnHelper: HelperSpawner = (plan, cgroupFd) => {
      spawned.monitor = spawnMonitor(monitorPath(), args, plan, cgroupFd, consoleFd);
      return { sock: spawned.monitor.sock };
    };
    const consoleSocket = tty ? `/proc/${process.pid}/fd/${runDir}/console` : undefined;
    initPid = runtimeCreate(ctx.runtime, { id: record.id, bundle: paths.bundle, consoleSocket, spawnHelper }).pid;
  } catch (err) {
    if (attachment !== undefined) releaseNetwork(record.id);
    throw spawned.monitor ? failedCreate(spawned.monitor, err) : err;
  } finally {
    closeSync(runDir);
    if (consoleFd >= 0) closeFd(consoleFd);
  }
  const monitor = spawned.monitor!;
  timer.step("create (monitor, init ready)");
  if (attachment !== undefined) {
    try {
      connectNetwork(attachment, initPid);
    } catch (err) {
      // kills the init (its network namespace and veth go with it) and releases the address and rules
      releaseRuntime(ctx, record.id);
      throw failedCreate(monitor, err);
    }
    timer.step("network: bridge, veth, rules");
  }
  try {
    writeSync(monitor.control, `${initPid}\n`);
  } catch (err) {
    // the monitor is gone: nobody would collect the init's exit
    releaseRuntime(ctx, record.id);
    throw failedCreate(monitor, err);
  }
  closeFd(monitor.control);
  closeFd(monitor.diagnostics);
  const monitorStartTime = processStat(monitor.pid)?.startTime ?? "";
  updateEngineState(
    ctx,
    record.id,
    (s) => {
      s.startedAt = new Date().toISOString();
      s.finishedAt = "";
      s.exitCode = 0;
      s.error = "";
      s.restarting = false;
      s.manuallyStopped = false;
      s.monitorPid = monitor.pid;
      s.monitorStartTime = monitorStartTime;
    },
    !hostConfig.AutoRemove,
  );
  await options.beforeRelease?.();
  runtimeStart(ctx.runtime, record.id);
  timer.step("release");
  timer.done();
  return { monitorPid: monitor.pid, initPid };
}
