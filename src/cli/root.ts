import { openSync } from "node:fs";
import { ContainrError } from "../diag/errors.ts";
import { configureLogging, isLogLevel, type LogLevelName } from "../diag/log.ts";
import { defineCommand } from "./command.ts";

/** The flags every engine command shares; they stand before the command name. */
export const rootCommand = defineCommand({
  meta: { name: "containr", description: "A daemonless, Docker-compatible container engine and OCI runtime" },
  args: {
    root: { type: "string", description: "Data root: images, containers, volumes", valueHint: "dir", default: "/var/lib/containr" },
    runroot: { type: "string", description: "Run root: per-boot state", valueHint: "dir", default: "/run/containr" },
    logLevel: { type: "enum", description: "Diagnostics level", options: ["error", "warn", "info", "debug", "trace"], valueHint: "level" },
    debug: { type: "boolean", description: "Debug output, with the timing of each step" },
    logFormat: { type: "enum", description: "Diagnostics format", options: ["text", "json"], valueHint: "text|json" },
  },
  setup(args) {
    applyLogFlags({ level: args.logLevel, debug: args.debug, format: args.logFormat });
  },
  subCommands: {
    oci: () => import("./oci/index.ts").then((m) => m.default),
    version: () => import("./version.ts").then((m) => m.default),
    pull: () => import("./pull.ts").then((m) => m.default),
    push: () => import("./push.ts").then((m) => m.default),
    images: () => import("./images.ts").then((m) => m.default),
    rmi: () => import("./rmi.ts").then((m) => m.default),
    tag: () => import("./tag.ts").then((m) => m.default),
    import: () => import("./import.ts").then((m) => m.default),
    save: () => import("./save.ts").then((m) => m.default),
    load: () => import("./load.ts").then((m) => m.default),
    history: () => import("./history.ts").then((m) => m.default),
    login: () => import("./login.ts").then((m) => m.default),
    logout: () => import("./logout.ts").then((m) => m.default),
    image: () => import("./image/index.ts").then((m) => m.default),
    run: () => import("./run.ts").then((m) => m.default),
    create: () => import("./create.ts").then((m) => m.default),
    start: () => import("./start.ts").then((m) => m.default),
    stop: () => import("./stop.ts").then((m) => m.default),
    restart: () => import("./restart.ts").then((m) => m.default),
    kill: () => import("./kill.ts").then((m) => m.default),
    rm: () => import("./rm.ts").then((m) => m.default),
    ps: () => import("./ps.ts").then((m) => m.default),
    logs: () => import("./logs.ts").then((m) => m.default),
    attach: () => import("./attach.ts").then((m) => m.default),
    wait: () => import("./wait.ts").then((m) => m.default),
    inspect: () => import("./inspect.ts").then((m) => m.default),
    exec: () => import("./exec.ts").then((m) => m.default),
    info: () => import("./info.ts").then((m) => m.default),
    "container-exited": () => import("./container-exited.ts").then((m) => m.default),
    volume: () => import("./volume/index.ts").then((m) => m.default),
    network: () => import("./network/index.ts").then((m) => m.default),
    container: () => import("./container/index.ts").then((m) => m.default),
    system: () => import("./system/index.ts").then((m) => m.default),
    stats: () => import("./stats.ts").then((m) => m.default),
    top: () => import("./top.ts").then((m) => m.default),
    cp: () => import("./cp.ts").then((m) => m.default),
    diff: () => import("./diff.ts").then((m) => m.default),
    export: () => import("./export.ts").then((m) => m.default),
    rename: () => import("./rename.ts").then((m) => m.default),
    pause: () => import("./pause.ts").then((m) => m.default),
    unpause: () => import("./unpause.ts").then((m) => m.default),
    port: () => import("./port.ts").then((m) => m.default),
  },
});

/** Shared by the engine's and the OCI runtime's global flags. */
export function applyLogFlags(flags: { level?: string; debug?: boolean; format?: string; file?: string }): void {
  let level: LogLevelName | undefined;
  if (flags.level !== undefined) {
    if (!isLogLevel(flags.level)) throw new ContainrError("USAGE", `unknown log level "${flags.level}"`);
    level = flags.level;
  }
  if (flags.debug) level = level === "trace" ? "trace" : "debug";
  configureLogging(
    { level, format: flags.format === "json" ? "json" : flags.format === "text" ? "text" : undefined, file: flags.file },
    (path) => openSync(path, "a", 0o600),
  );
}
