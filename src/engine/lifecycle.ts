/**
 * stop, kill, restart, rm and wait, and the exit command the monitor runs
 * when the container's init is gone (`containr container-exited ID`, as
 * podman's `container cleanup`): record the exit, release the runtime's
 * state and cgroup, unmount the root filesystem, then apply --rm or the
 * restart policy.
 */
import { ContainrError, toContainrError } from "../diag/errors.ts";
import { log, stepTimer } from "../diag/log.ts";
import { killContainer } from "../runtime/container.ts";
import { resumeContainer } from "../runtime/manage.ts";
import { monitorAlive, observe, readExitFile, updateEngineState } from "./container-state.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import { hostConfigOfRecord } from "./create.ts";
import type { ContainerRecord } from "./records.ts";
import { parseSignal, SIGKILL } from "../linux/signals.ts";
import { startContainer } from "./start.ts";
import { destroyContainer, releaseRuntime, unmountRootfs } from "./teardown.ts";

const POLL_MS = 20;
/** Restart delays double from 100 ms (dockerd's backoff), up to a minute; a run of 10 s resets them. */
const RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 60_000;
const RESET_AFTER_MS = 10_000;

function notRunning(record: ContainerRecord): ContainrError {
  return new ContainrError("INVALID_STATE", `container ${record.id} is not running`, {
    hint: `start it with \`containr start ${record.name}\``,
  });
}

/** Wait until fn() is true or timeoutMs passed; returns fn()'s last value. */
async function until(fn: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (fn()) return true;
    if (Date.now() >= deadline) return false;
    await Bun.sleep(POLL_MS);
  }
}

/**
 * Wait until the container's run is over: the init gone, and the monitor
 * done with the exit command (so its clean-up or restart has happened).
 */
async function settled(ctx: EngineContext, record: ContainerRecord, timeoutMs: number): Promise<boolean> {
  return until(() => {
    const { state, engine } = observe(ctx, record);
    return !state.Running && !monitorAlive(engine);
  }, timeoutMs);
}

/**
 * `kill -s SIGNAL`: the signal goes to the init. A user's kill counts as a
 * manual stop for the restart policy; a signal a foreground run proxies
 * (manual false) does not.
 */
export function killRunning(ctx: EngineContext, record: ContainerRecord, signal: string, manual = true): void {
  const { state } = observe(ctx, record);
  if (state.Status !== "running") throw notRunning(record);
  const number = parseSignal(signal);
  if (manual) {
    updateEngineState(ctx, record.id, (s) => {
      s.manuallyStopped = true;
    });
  }
  killContainer(ctx.runtime, record.id, number);
}

/**
 * Send a signal as stop and rm -f do. A paused container's processes are
 * frozen and would not act on it (not even on SIGKILL) until thawed, so the
 * container is resumed after the signal, as Docker does.
 */
function signalContainer(ctx: EngineContext, record: ContainerRecord, signal: number, what: string): void {
  try {
    killContainer(ctx.runtime, record.id, signal);
    if (observe(ctx, record).state.Paused) resumeContainer(ctx.runtime, record.id);
  } catch (err) {
    log.debug(`${what} ${record.id}: ${toContainrError(err).message}`);
  }
}

/**
 * `stop -t N`: the stop signal, then SIGKILL after N seconds; returns when
 * the container is stopped and cleaned up. A stopped container is left alone.
 */
export async function stopContainer(ctx: EngineContext, record: ContainerRecord, timeoutSeconds?: number): Promise<void> {
  const { state } = observe(ctx, record);
  if (!state.Running) return;
  updateEngineState(ctx, record.id, (s) => {
    s.manuallyStopped = true;
  });
  const config = record.config as { StopSignal?: string; StopTimeout?: number };
  const seconds = timeoutSeconds ?? config.StopTimeout ?? 10;
  const gone = () => !observe(ctx, record).state.Running;
  if (!state.Restarting) {
    signalContainer(ctx, record, parseSignal(config.StopSignal ?? "SIGTERM"), "stop");
    if (seconds < 0 || !(await until(gone, seconds * 1000))) signalContainer(ctx, record, SIGKILL, "stop");
  }
  if (!(await settled(ctx, record, 30_000))) {
    throw new ContainrError("TIMEOUT", `container ${record.id} did not stop`, { hint: "try `containr rm -f`" });
  }
  // the monitor may have died without running the exit command
  cleanUpAfterExit(ctx, record);
}

/** Release what a stopped container still holds (runtime state, cgroup, mount), recording an exit the monitor left. */
function cleanUpAfterExit(ctx: EngineContext, record: ContainerRecord): void {
  const paths = containerPaths(ctx, record.id);
  const exit = readExitFile(paths.exitFile);
  updateEngineState(ctx, record.id, (s) => {
    if (s.startedAt !== "" && s.finishedAt === "") {
      const observed = observe(ctx, record).state;
      s.exitCode = exit?.exitCode ?? observed.ExitCode;
      s.finishedAt = exit?.finishedAt ?? new Date().toISOString();
      if (exit === undefined) s.error = observed.Error;
    }
  });
  releaseRuntime(ctx, record.id);
  unmountRootfs(ctx, record.id);
}

export async function restartContainer(ctx: EngineContext, record: ContainerRecord, timeoutSeconds?: number): Promise<void> {
  await stopContainer(ctx, record, timeoutSeconds);
  await startContainer(ctx, record);
}

/** `rm [-f] [-v]`: a running container needs -f (then it is killed first); -v also removes its anonymous volumes. */
export async function removeContainer(ctx: EngineContext, record: ContainerRecord, force: boolean, removeVolumes = false): Promise<void> {
  const { state } = observe(ctx, record);
  if (state.Running && !force) {
    throw new ContainrError(
      "INVALID_STATE",
      `cannot remove container "/${record.name}": container is ${state.Restarting ? "restarting" : "running"}: ` +
        "stop the container before removing or force remove",
      { hint: `You cannot remove a running container ${record.id}. Stop the container before attempting removal or force remove` },
    );
  }
  if (state.Running) {
    updateEngineState(ctx, record.id, (s) => {
      s.manuallyStopped = true;
    });
    signalContainer(ctx, record, SIGKILL, "rm");
    await settled(ctx, record, 10_000);
  }
  destroyContainer(ctx, record, { removeAnonymousVolumes: removeVolumes });
}

/**
 * `wait`: block until the container stopped for good (its monitor done with
 * the exit command, so a restart would already show), then its exit code.
 */
export async function waitContainer(ctx: EngineContext, record: ContainerRecord): Promise<number> {
  let lastExitCode = 0;
  for (;;) {
    let current: ContainerRecord;
    try {
      current = ctx.records.get(record.id);
    } catch {
      // removed (--rm) while we waited: its last exit code is the answer
      return lastExitCode;
    }
    const { state, engine } = observe(ctx, current);
    lastExitCode = readExitFile(containerPaths(ctx, record.id).exitFile)?.exitCode ?? state.ExitCode;
    if (state.Status === "exited" && !monitorAlive(engine)) return state.ExitCode;
    await Bun.sleep(POLL_MS);
  }
}

/** Should the restart policy start the container again after this exit? */
export function shouldRestart(policy: { Name: string; MaximumRetryCount: number }, exitCode: number, restartCount: number, manuallyStopped: boolean): boolean {
  if (manuallyStopped) return false;
  switch (policy.Name) {
    case "always":
    case "unless-stopped":
      return true;
    case "on-failure":
      return exitCode !== 0 && (policy.MaximumRetryCount === 0 || restartCount < policy.MaximumRetryCount);
    default:
      return false;
  }
}

/**
 * The monitor's exit command. Runs while the monitor waits for it, so
 * attached clients (a foreground `run --rm`) see the end only after it.
 */
export async function containerExited(ctx: EngineContext, id: string): Promise<void> {
  const record = ctx.records.get(id);
  const paths = containerPaths(ctx, id);
  const exit = readExitFile(paths.exitFile);
  const hostConfig = hostConfigOfRecord(record);
  const timer = stepTimer(`exit of ${id}`);
  const state = updateEngineState(
    ctx,
    id,
    (s) => {
      s.exitCode = exit?.exitCode ?? 255;
      s.finishedAt = exit?.finishedAt ?? new Date().toISOString();
    },
    !hostConfig.AutoRemove,
  );
  timer.step("record the exit");
  releaseRuntime(ctx, id);
  timer.step("release the runtime");
  if (hostConfig.AutoRemove) {
    // --rm: "Automatically remove the container and its associated anonymous volumes"
    destroyContainer(ctx, record, { removeAnonymousVolumes: true });
    return;
  }
  if (!shouldRestart(hostConfig.RestartPolicy, state.exitCode, state.restartCount, state.manuallyStopped)) {
    unmountRootfs(ctx, id);
    return;
  }
  const ranFor = Date.parse(state.finishedAt) - Date.parse(state.startedAt);
  const delay = ranFor >= RESET_AFTER_MS ? RESTART_DELAY_MS : Math.min(MAX_RESTART_DELAY_MS, RESTART_DELAY_MS * 2 ** state.restartCount);
  updateEngineState(ctx, id, (s) => {
    s.restarting = true;
  });
  await Bun.sleep(delay);
  // a stop or rm during the delay wins
  const now = (() => {
    try {
      return ctx.records.get(id);
    } catch {
      return undefined;
    }
  })();
  if (now === undefined) return;
  const latest = updateEngineState(ctx, id, (s) => {
    s.restarting = false;
    if (!s.manuallyStopped) s.restartCount += 1;
  });
  if (latest.manuallyStopped) {
    unmountRootfs(ctx, id);
    return;
  }
  await startContainer(ctx, now);
}
