/**
 * `info`: Docker's shape (the Engine API's /info), filled from this host
 * and the engine's stores.
 */
import { existsSync, readFileSync } from "node:fs";
import { arch, cpus, hostname, release, totalmem } from "node:os";
import pkg from "../../package.json" with { type: "json" };
import { detectCgroupMode } from "../linux/cgroups/index.ts";
import { observe } from "./container-state.ts";
import type { EngineContext } from "./context.ts";

/** uname -m names (Docker's Architecture field). */
const MACHINE: Record<string, string> = { x64: "x86_64", arm64: "aarch64", arm: "armv7l", ia32: "i686", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

export interface SystemInfo {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  LoggingDriver: string;
  CgroupDriver: string;
  CgroupVersion: string;
  KernelVersion: string;
  OperatingSystem: string;
  OSType: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  DockerRootDir: string;
  RunRoot: string;
  Name: string;
  ServerVersion: string;
  SecurityOptions: string[];
  Runtimes: Record<string, { path: string }>;
  DefaultRuntime: string;
}

/** PRETTY_NAME of /etc/os-release (or /usr/lib/os-release), as Docker reports it. */
export function operatingSystem(paths = ["/etc/os-release", "/usr/lib/os-release"]): string {
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const line = readFileSync(path, "utf8")
      .split("\n")
      .find((l) => l.startsWith("PRETTY_NAME="));
    if (line !== undefined) return line.slice("PRETTY_NAME=".length).replace(/^"(.*)"$/, "$1");
  }
  return "Linux";
}

export function systemInfo(ctx: EngineContext): SystemInfo {
  let running = 0;
  let paused = 0;
  const records = ctx.records.list();
  for (const record of records) {
    const { state } = observe(ctx, record);
    if (state.Paused) paused += 1;
    else if (state.Running) running += 1;
  }
  const images = ctx.images.open().listImages().length;
  const cgroupMode = detectCgroupMode();
  const rootless = ctx.runtime.rootless;
  return {
    ID: hostId(),
    Containers: records.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: records.length - running - paused,
    Images: images,
    Driver: "overlay",
    LoggingDriver: "json-file",
    CgroupDriver: "cgroupfs",
    CgroupVersion: cgroupMode === "v2" ? "2" : "1",
    KernelVersion: release(),
    OperatingSystem: operatingSystem(),
    OSType: "linux",
    Architecture: MACHINE[arch()] ?? arch(),
    NCPU: cpus().length,
    MemTotal: totalmem(),
    DockerRootDir: ctx.dataRoot,
    RunRoot: ctx.runRoot,
    Name: hostname(),
    ServerVersion: pkg.version,
    SecurityOptions: ["name=seccomp,profile=builtin", ...(rootless ? ["name=rootless"] : [])],
    Runtimes: { containr: { path: ctx.self[0] ?? "containr" } },
    DefaultRuntime: "containr",
  };
}

/** /etc/machine-id: a stable identity of this host (Docker's ID is the daemon's key). */
function hostId(): string {
  try {
    return readFileSync("/etc/machine-id", "utf8").trim();
  } catch {
    return "";
  }
}
