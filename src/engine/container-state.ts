/**
 * A container's state as the engine reports it (Docker's State object),
 * derived every time from what is on disk, never cached:
 *
 * - the runtime's state (pid + process start time) says whether the init
 *   runs: a live init is "running" whatever happened to its monitor;
 * - the monitor's exit.json gives the exit code and finish time; the exit
 *   command copies them into the engine's state.json (which, unlike the run
 *   root, survives a reboot);
 * - an init that is gone with no exit recorded (its monitor was SIGKILLed,
 *   or the host crashed) is "exited" with code 255 and an Error saying the
 *   status is unknown: what dockerd reports for a container whose exit it
 *   could not collect.
 */
import { existsSync, readFileSync } from "node:fs";
import { containerState as runtimeState, type StateReport } from "../runtime/container.ts";
import { replaceFile } from "../native/replace-file.ts";
import { processStat, withLock } from "../runtime/state.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import type { ContainerRecord } from "./records.ts";

/** Docker's zero time, which inspect shows for "never". */
export const ZERO_TIME = "0001-01-01T00:00:00Z";
/** The exit code of a container whose exit status was lost. */
export const UNKNOWN_EXIT_CODE = 255;

/** What the engine keeps about a container's runs (ROOT/containers/<id>/state.json). */
export interface EngineState {
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  restartCount: number;
  /** stop/kill by a user: the restart policy does not apply (Docker's HasBeenManuallyStopped) */
  manuallyStopped: boolean;
  /** the exit command is waiting out the restart delay */
  restarting: boolean;
  /** the monitor of the current run: pid and /proc start time */
  monitorPid: number;
  monitorStartTime: string;
  error: string;
}

export type DockerStatus = "created" | "running" | "restarting" | "exited" | "dead" | "removing" | "paused";

/** Docker's State of `inspect`. */
export interface ObservedState {
  Status: DockerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

export function emptyState(): EngineState {
  return {
    startedAt: "",
    finishedAt: "",
    exitCode: 0,
    restartCount: 0,
    manuallyStopped: false,
    restarting: false,
    monitorPid: 0,
    monitorStartTime: "",
    error: "",
  };
}

export function readEngineState(path: string): EngineState {
  try {
    return { ...emptyState(), ...(JSON.parse(readFileSync(path, "utf8")) as Partial<EngineState>) };
  } catch {
    return emptyState();
  }
}

/**
 * Read-modify-write the engine state under the container directory's lock,
 * so that start, stop and the exit command never lose each other's fields.
 * durable: false skips the fsync, for a container removed when it exits
 * (--rm), whose state goes with it.
 */
export function updateEngineState(ctx: EngineContext, id: string, change: (s: EngineState) => void, durable = true): EngineState {
  const paths = containerPaths(ctx, id);
  return withLock(paths.data, () => {
    const state = readEngineState(paths.state);
    change(state);
    replaceFile(paths.state, JSON.stringify(state), 0o600, { durable });
    return state;
  });
}

/** The monitor's record of the init's exit (RUNROOT/containers/<id>/exit.json). */
export interface ExitRecord {
  exitCode: number;
  finishedAt: string;
}

export function readExitFile(path: string): ExitRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path, "utf8")) as ExitRecord;
    return typeof record.exitCode === "number" ? record : undefined;
  } catch {
    return undefined;
  }
}

export function isProcessAlive(pid: number, startTime: string): boolean {
  const stat = processStat(pid);
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X" && stat.startTime === startTime;
}

export function monitorAlive(state: EngineState): boolean {
  return state.monitorPid > 0 && isProcessAlive(state.monitorPid, state.monitorStartTime);
}

/** The runtime's view of the container, or undefined when the runtime holds nothing for it. */
export function runtimeView(ctx: EngineContext, id: string): StateReport | undefined {
  if (!existsSync(`${ctx.runtime.root}/${id}/state.json`)) return undefined;
  try {
    return runtimeState(ctx.runtime, id);
  } catch {
    return undefined;
  }
}

export interface Observation {
  state: ObservedState;
  engine: EngineState;
  runtime: StateReport | undefined;
}

/** What the container is doing right now, from the files the runtime, the monitor and the engine keep. */
export function observe(ctx: EngineContext, record: ContainerRecord): Observation {
  const paths = containerPaths(ctx, record.id);
  const engine = readEngineState(paths.state);
  const runtime = runtimeView(ctx, record.id);
  const out: ObservedState = {
    Status: "created",
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: engine.exitCode,
    Error: engine.error,
    StartedAt: engine.startedAt || ZERO_TIME,
    FinishedAt: engine.finishedAt || ZERO_TIME,
  };
  if (runtime?.status === "running" || runtime?.status === "paused") {
    // a frozen container is still running (Docker: Running and Paused both true)
    out.Paused = runtime.status === "paused";
    out.Status = out.Paused ? "paused" : "running";
    out.Running = true;
    out.Pid = runtime.pid;
    out.ExitCode = 0;
    out.FinishedAt = ZERO_TIME;
    out.Error = "";
    return { state: out, engine, runtime };
  }
  if (engine.startedAt === "") return { state: out, engine, runtime };
  const exit = readExitFile(paths.exitFile);
  if (engine.finishedAt === "" && exit !== undefined) {
    out.ExitCode = exit.exitCode;
    out.FinishedAt = exit.finishedAt;
  } else if (engine.finishedAt === "" && runtime?.status !== "created") {
    // started, init gone, nothing recorded: the monitor died (or is about to write)
    const pending = monitorAlive(engine);
    out.ExitCode = UNKNOWN_EXIT_CODE;
    out.Error = pending ? "" : "the container's monitor exited before recording its exit status";
    out.FinishedAt = engine.startedAt;
  }
  out.Status = "exited";
  if (engine.restarting && monitorAlive(engine)) {
    out.Status = "restarting";
    out.Restarting = true;
    out.Running = true;
  }
  if (runtime?.status === "created") out.Status = "created";
  return { state: out, engine, runtime };
}
