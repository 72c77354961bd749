/**
 * Starting a container: a fresh monitor (csrc/bin/containr-monitor) is
 * spawned detached; it becomes a child subreaper and runs the runtime's
 * `oci create` with the container's stdio pipes, so that the init, once
 * that command exits, is the monitor's child (conmon + runc's model). The
 * engine then releases the init with the runtime's start (exec fifo).
 *
 * The monitor's argv carries the exit command: `containr --root R
 * --runroot RR container-exited ID`, which records the exit and applies
 * --rm and the restart policy (exited.ts).
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { ContainrError, type ErrorCode } from "../diag/errors.ts";
import { log } from "../diag/log.ts";
import { ERROR_CODES } from "../diag/codes.ts";
import { monitorPath } from "../native/monitor.ts";
import { startContainer as runtimeStart } from "../runtime/container.ts";
import { processStat } from "../runtime/state.ts";
import { observe, updateEngineState } from "./container-state.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import { hostConfigOfRecord, type HostConfig } from "./create.ts";
import type { ContainerRecord } from "./records.ts";
import { releaseRuntime } from "./teardown.ts";
import { mountOverlay } from "../image/overlay.ts";
import { ImageStore, resolveImage } from "../image/store.ts";
import { isMountPoint } from "./teardown.ts";
import { mountVolumesForStart } from "./mounts.ts";
import { withVolumes } from "./volumes.ts";

/** The first error the runtime's create logged (it runs with --log FILE --log-format json). */
function createFailure(path: string, status: number): ContainrError {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    // no log: the create command did not get far enough to write one
  }
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let entry: { level?: string; msg?: string; code?: string; hint?: string };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.level !== "error") continue;
    const code = (entry.code !== undefined && entry.code in ERROR_CODES ? entry.code : "CONTAINER_INIT_FAILED") as ErrorCode;
    return new ContainrError(code, entry.msg ?? "the runtime could not create the container", entry.hint ? { hint: entry.hint } : {});
  }
  return new ContainrError("CONTAINER_INIT_FAILED", `the runtime's create exited with status ${status} and said nothing`);
}

/** Re-mount the root filesystem of a container that was stopped (its overlay is unmounted on exit). */
export function ensureRootfs(ctx: EngineContext, record: ContainerRecord): void {
  const paths = containerPaths(ctx, record.id);
  if (isMountPoint(paths.rootfs)) return;
  const store = ImageStore.open(ctx.dataRoot);
  try {
    const image = resolveImage(store, record.imageId);
    mountOverlay({ lowers: [...image.layerDirs].reverse(), upper: paths.diff, work: paths.work, target: paths.rootfs });
  } finally {
    store.close();
  }
}

/** The create command's argument that the monitor's -t replaces with its console socket (main.c). */
const CONSOLE_SOCKET_PLACEHOLDER = "@console-socket@";

function readLines(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
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
  const paths = containerPaths(ctx, record.id);
  const hostConfig: HostConfig = hostConfigOfRecord(record);
  releaseRuntime(ctx, record.id);
  ensureRootfs(ctx, record);
  withVolumes(ctx.dataRoot, (volumes) => mountVolumesForStart(volumes, record.mounts));
  rmSync(paths.run, { recursive: true, force: true });
  mkdirSync(paths.run, { recursive: true, mode: 0o700 });

  const tty = (record.config as { Tty?: boolean }).Tty === true;
  const exitCommand = [...ctx.self, ...ctx.globalArgs, "container-exited", record.id];
  const createCommand = [
    ...ctx.self,
    "oci",
    "--root",
    ctx.runtime.root,
    "--log",
    paths.createLog,
    "--log-format",
    "json",
    "create",
    "--bundle",
    paths.bundle,
    "--pid-file",
    paths.initPid,
    ...(tty ? ["--console-socket", CONSOLE_SOCKET_PLACEHOLDER] : []),
    record.id,
  ];
  const logConfig = hostConfig.LogConfig;
  const argv = [monitorPath(), "-c", record.id, "-d", paths.run, "-p", "init.pid"];
  if (logConfig.Type !== "none") {
    argv.push("-l", paths.log, "-s", logConfig.Config["max-size"] ?? "0", "-n", logConfig.Config["max-file"] ?? "1");
  }
  if (options.stdin) argv.push("-i");
  if (tty) argv.push("-t");
  for (const word of exitCommand) argv.push("-x", word);
  argv.push("--", ...createCommand);

  log.debug(`start ${record.id}: ${argv.join(" ")}`);
  const monitor = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [report, diagnostics] = await Promise.all([readLines(monitor.stdout), readLines(monitor.stderr)]);
  const ready = /^ready (\d+)$/m.exec(report);
  if (ready === null) {
    // still referenced: an unref'd child would let the event loop end (exit 0) during this wait
    await monitor.exited;
    const failed = /^failed (\d+)$/m.exec(report);
    if (failed !== null) throw createFailure(paths.createLog, Number(failed[1]));
    throw new ContainrError("CONTAINER_INIT_FAILED", `the container's monitor failed: ${diagnostics.trim() || `exit status ${monitor.exitCode}`}`);
  }
  // the monitor outlives this command
  monitor.unref();
  const initPid = Number(ready[1]);
  const monitorStartTime = processStat(monitor.pid)?.startTime ?? "";
  updateEngineState(ctx, record.id, (s) => {
    s.startedAt = new Date().toISOString();
    s.finishedAt = "";
    s.exitCode = 0;
    s.error = "";
    s.restarting = false;
    s.manuallyStopped = false;
    s.monitorPid = monitor.pid;
    s.monitorStartTime = monitorStartTime;
  });
  await options.beforeRelease?.();
  runtimeStart(ctx.runtime, record.id);
  return { monitorPid: monitor.pid, initPid };
}
