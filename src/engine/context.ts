/**
 * Where the engine keeps a container's things, and how it calls itself.
 *
 *   ROOT/containers/index.db           records (records.ts, ADR 0004)
 *   ROOT/containers/<id>/              data that survives a reboot:
 *     bundle/config.json                 the OCI spec buildSpec made
 *     rootfs/                            overlay mount point (image layers + diff/)
 *     diff/ work/                        the container's writable layer
 *     hosts hostname resolv.conf         bind-mounted over the image's
 *     <id>-json.log[.N]                  the log (Docker's file name)
 *     state.json                         started/finished times, exit code, restarts
 *   RUNROOT/runtime/<id>/              the OCI runtime's state (pid + start time)
 *   RUNROOT/containers/<id>/           the monitor's: attach socket, exit.json,
 *                                       console (-t, until the init sent its pty)
 */
import { join, resolve } from "node:path";
import { ImageStore } from "../image/store.ts";
import { openRecords, type RecordStore } from "./records.ts";
import type { RuntimeContext } from "../runtime/container.ts";

export interface EngineContext {
  dataRoot: string;
  runRoot: string;
  records: RecordStore;
  runtime: RuntimeContext;
  /** argv that runs this containr (the compiled binary, or bun + src/main.ts) */
  self: string[];
  /** the global flags a child containr needs to see the same stores */
  globalArgs: string[];
  images: SharedImageStore;
}

/**
 * The image store, opened on first use and closed with the engine: a
 * `run --rm` resolves its image and later drops its hold on it, and each
 * SQLite open and close (a checkpoint) costs milliseconds.
 */
export class SharedImageStore {
  private store: ImageStore | undefined;

  constructor(private readonly dataRoot: string) {}

  open(): ImageStore {
    this.store ??= ImageStore.open(this.dataRoot);
    return this.store;
  }

  close(): void {
    this.store?.close();
    this.store = undefined;
  }
}

/** argv[0..] of this program: the compiled executable, or bun with the script it runs. */
export function selfCommand(): string[] {
  const script = process.argv[1];
  if (script !== undefined && !script.startsWith("/$bunfs/") && /\.(ts|js)$/.test(script)) return [process.execPath, script];
  return [process.execPath];
}

export function openEngine(globals: Record<string, unknown>): EngineContext {
  const dataRoot = resolve(String(globals.root ?? "/var/lib/containr"));
  const runRoot = resolve(String(globals.runroot ?? "/run/containr"));
  const globalArgs = ["--root", dataRoot, "--runroot", runRoot];
  if (typeof globals.logLevel === "string") globalArgs.push("--log-level", globals.logLevel);
  return {
    dataRoot,
    runRoot,
    records: openRecords(dataRoot),
    runtime: { root: join(runRoot, "runtime"), rootless: process.getuid?.() !== 0 },
    self: selfCommand(),
    globalArgs,
    images: new SharedImageStore(dataRoot),
  };
}

export function closeEngine(ctx: EngineContext): void {
  ctx.records.close();
  ctx.images.close();
}

export interface ContainerPaths {
  data: string;
  bundle: string;
  rootfs: string;
  diff: string;
  work: string;
  hosts: string;
  hostname: string;
  resolvConf: string;
  log: string;
  state: string;
  run: string;
  attach: string;
  exitFile: string;
}

export function containerPaths(ctx: EngineContext, id: string): ContainerPaths {
  const data = ctx.records.containerDir(id);
  const run = join(ctx.runRoot, "containers", id);
  return {
    data,
    bundle: join(data, "bundle"),
    rootfs: join(data, "rootfs"),
    diff: join(data, "diff"),
    work: join(data, "work"),
    hosts: join(data, "hosts"),
    hostname: join(data, "hostname"),
    resolvConf: join(data, "resolv.conf"),
    log: join(data, `${id}-json.log`),
    state: join(data, "state.json"),
    run,
    attach: join(run, "attach"),
    exitFile: join(run, "exit.json"),
  };
}
