/**
 * What the container commands share: opening the engine from the global
 * flags, the flags of run/create (docker/cli's names), and streaming an
 * attached container to this terminal with signal proxying.
 */
import { ContainrError, toContainrError } from "../../diag/errors.ts";
import { log } from "../../diag/log.ts";
import { attachTo, resizeTerminal, type AttachMode, type Attachment } from "../../engine/attach.ts";
import { closeEngine, containerPaths, openEngine, type EngineContext } from "../../engine/context.ts";
import { DEFAULT_LOG_CONFIG, type LogConfig } from "../../engine/create.ts";
import { killRunning } from "../../engine/lifecycle.ts";
import type { ContainerRecord } from "../../engine/records.ts";
import type { RunFlags } from "../../engine/run-options.ts";
import { defineCommand, type FlagDef } from "../command.ts";
import { fromHumanSize, parseMemoryFlag } from "../format/units.ts";
import { mountRequests } from "./mounts.ts";
import { writeStderr, writeStdout } from "../output.ts";
import { forEachReference } from "../references.ts";

export async function withEngine<T>(globals: Record<string, unknown>, fn: (ctx: EngineContext) => Promise<T> | T): Promise<T> {
  const ctx = openEngine(globals);
  try {
    return await fn(ctx);
  } finally {
    closeEngine(ctx);
  }
}

const s = (description: string, extra: Partial<FlagDef> = {}): FlagDef => ({ type: "string", description, ...extra });
const b = (description: string, extra: Partial<FlagDef> = {}): FlagDef => ({ type: "boolean", description, ...extra });
const many = (description: string, extra: Partial<FlagDef> = {}): FlagDef => ({ type: "string", description, multiple: true, ...extra });

/** The flags `create` and `run` share (docker/cli's addFlags). */
export const createFlags = {
  image: { type: "positional", description: "IMAGE", required: true },
  interactive: b("Keep STDIN open even if not attached", { alias: "i" }),
  tty: b("Allocate a pseudo-TTY", { alias: "t" }),
  rm: b("Automatically remove the container and its associated anonymous volumes when it exits"),
  name: s("Assign a name to the container", { valueHint: "string" }),
  env: many("Set environment variables", { alias: "e", valueHint: "list" }),
  envFile: many("Read in a file of environment variables", { valueHint: "list" }),
  workdir: s("Working directory inside the container", { alias: "w", valueHint: "string" }),
  user: s("Username or UID (format: <name|uid>[:<group|gid>])", { alias: "u", valueHint: "string" }),
  entrypoint: s("Overwrite the default ENTRYPOINT of the image", { valueHint: "string" }),
  hostname: s("Container host name", { alias: "h", valueHint: "string" }),
  label: many("Set meta data on a container", { alias: "l", valueHint: "list" }),
  labelFile: many("Read in a line delimited file of labels", { valueHint: "list" }),
  readOnly: b("Mount the container's root filesystem as read only"),
  tmpfs: many("Mount a tmpfs directory", { valueHint: "list" }),
  volume: many("Bind mount a volume", { alias: "v", valueHint: "list" }),
  mount: many("Attach a filesystem mount to the container", { valueHint: "mount" }),
  init: b("Run an init inside the container that forwards signals and reaps processes"),
  stopSignal: s("Signal to stop the container", { valueHint: "string" }),
  stopTimeout: s("Timeout (in seconds) to stop a container", { valueHint: "int" }),
  restart: s("Restart policy to apply when a container exits", { valueHint: "string", default: "no" }),
  network: s("Connect a container to a network (bridge, none, host or a user-defined network)", { alias: "net", valueHint: "network", default: "bridge" }),
  networkAlias: many("Add network-scoped alias for the container", { valueHint: "list" }),
  publish: many("Publish a container's port(s) to the host", { alias: "p", valueHint: "list" }),
  publishAll: b("Publish all exposed ports to random ports", { alias: "P" }),
  privileged: b("Give extended privileges to this container"),
  capAdd: many("Add Linux capabilities", { valueHint: "list" }),
  capDrop: many("Drop Linux capabilities", { valueHint: "list" }),
  securityOpt: many("Security Options", { valueHint: "list" }),
  memory: s("Memory limit", { alias: "m", valueHint: "bytes" }),
  memorySwap: s("Swap limit equal to memory plus swap: '-1' to enable unlimited swap", { valueHint: "bytes" }),
  cpus: s("Number of CPUs", { valueHint: "decimal" }),
  cpuShares: s("CPU shares (relative weight)", { alias: "c", valueHint: "int" }),
  cpusetCpus: s("CPUs in which to allow execution (0-3, 0,1)", { valueHint: "string" }),
  pidsLimit: s("Tune container pids limit (set -1 for unlimited)", { valueHint: "int" }),
  ulimit: many("Ulimit options", { valueHint: "ulimit" }),
  logDriver: s("Logging driver for the container (json-file or none)", { valueHint: "string" }),
  logOpt: many("Log driver options (max-size, max-file)", { valueHint: "list" }),
} as const;

type CreateArgs = { [K in keyof typeof createFlags]: unknown };

export function runFlagsOf(args: CreateArgs): RunFlags {
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);
  const flags: RunFlags = {
    interactive: args.interactive === true,
    tty: args.tty === true,
    rm: args.rm === true,
    name: str(args.name),
    env: list(args.env),
    envFile: list(args.envFile),
    workdir: str(args.workdir),
    user: str(args.user),
    entrypoint: str(args.entrypoint),
    hostname: str(args.hostname),
    label: list(args.label),
    labelFile: list(args.labelFile),
    readOnly: args.readOnly === true,
    tmpfs: list(args.tmpfs),
    init: args.init === true,
    stopSignal: str(args.stopSignal),
    stopTimeout: str(args.stopTimeout),
    restart: str(args.restart),
    network: str(args.network),
    networkAlias: list(args.networkAlias),
    publish: list(args.publish),
    publishAll: args.publishAll === true,
    privileged: args.privileged === true,
    capAdd: list(args.capAdd),
    capDrop: list(args.capDrop),
    securityOpt: list(args.securityOpt),
    cpus: str(args.cpus),
    cpuShares: str(args.cpuShares),
    cpusetCpus: str(args.cpusetCpus),
    pidsLimit: str(args.pidsLimit),
    ulimit: list(args.ulimit),
    mounts: mountRequests(list(args.volume), list(args.mount)),
  };
  const memory = str(args.memory);
  if (memory !== undefined && memory !== "") flags.memory = parseMemoryFlag(memory, "-m, --memory");
  const swap = str(args.memorySwap);
  if (swap !== undefined && swap !== "") flags.memorySwap = swap === "-1" ? -1 : parseMemoryFlag(swap, "--memory-swap");
  return flags;
}

/** --log-driver json-file|none and --log-opt max-size=10m,max-file=3. */
export function logConfigOf(driver: unknown, opts: unknown): LogConfig {
  const config: LogConfig = { ...DEFAULT_LOG_CONFIG };
  if (typeof driver === "string" && driver !== "") {
    if (driver !== "json-file" && driver !== "none") {
      throw new ContainrError("USAGE", `logger: no log driver named '${driver}' is registered`, { hint: "use --log-driver json-file or none" });
    }
    config.type = driver;
  }
  for (const opt of Array.isArray(opts) ? (opts as string[]) : []) {
    const eq = opt.indexOf("=");
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? "" : opt.slice(eq + 1);
    if (config.type === "none") throw new ContainrError("USAGE", `unknown log opt '${key}' for none log driver`);
    if (key === "max-size") {
      let size: number;
      try {
        size = value === "-1" ? 0 : fromHumanSize(value);
      } catch {
        throw new ContainrError("USAGE", `invalid log opt max-size: ${value}`, { hint: "give a size such as 10m" });
      }
      config.maxSize = size;
    } else if (key === "max-file") {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new ContainrError("USAGE", `max-file must be a positive integer, got ${JSON.stringify(value)}`);
      config.maxFiles = n;
    } else {
      throw new ContainrError("USAGE", `unknown log opt '${key}' for json-file log driver`, { hint: "json-file takes max-size and max-file" });
    }
  }
  return config;
}

/** Signals a foreground run or attach passes on to the container (docker's --sig-proxy). */
const PROXIED_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

/** ctrl-p ctrl-q: Docker's default detach keys. */
const DETACH_KEYS = [0x10, 0x11];

/**
 * Finds the detach sequence in what the user types. Bytes that may start it
 * are held back until the next byte decides (docker holds them too), so a
 * detach sends nothing of the sequence to the container.
 */
export class DetachKeys {
  private held = 0;

  scan(chunk: Uint8Array): { forward: Uint8Array; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === DETACH_KEYS[this.held]) {
        this.held += 1;
        if (this.held === DETACH_KEYS.length) return { forward: Uint8Array.from(out), detach: true };
        continue;
      }
      // the sequence broke: what was held goes out after all
      out.push(...DETACH_KEYS.slice(0, this.held));
      this.held = 0;
      if (byte === DETACH_KEYS[0]) this.held = 1;
      else out.push(byte);
    }
    return { forward: Uint8Array.from(out), detach: false };
  }
}

export interface StreamOptions {
  stdin: boolean;
  /** stdin's end closes the container's stdin (run -i) */
  stdinOnce: boolean;
  sigProxy: boolean;
  /** the container has a terminal: raw mode here, window size there */
  tty: boolean;
  /** the exit command's work, done here when the container exits (a foreground `run --rm`) instead of in a new containr */
  cleanUp?: () => Promise<void>;
  /** called once the socket is connected, before the container's init runs */
  connected?: () => Promise<void> | void;
}

export interface StreamResult {
  detached: boolean;
  exitCode: number | undefined;
}

/** Attach to the container's monitor and copy its output here (and our stdin there) until it exits or we detach. */
export async function streamContainer(ctx: EngineContext, record: ContainerRecord, options: StreamOptions): Promise<StreamResult> {
  const mode: AttachMode = options.stdin ? (options.stdinOnce ? "stdin-once" : "stdin") : "output";
  let cleaning: Promise<void> | undefined;
  const attachment: Attachment = await attachTo(
    containerPaths(ctx, record.id).run,
    mode,
    {
      stdout: (data) => writeStdout(data),
      stderr: (data) => writeStderr(data),
      exit: () => {
        const cleanUp = options.cleanUp;
        if (cleanUp === undefined) return;
        cleaning = cleanUp()
          .catch((err) => log.warn(`clean-up of ${record.id}: ${toContainrError(err).message}; the monitor's exit command does it`))
          .finally(() => attachment.close());
      },
    },
    options.cleanUp !== undefined,
  );
  let detached = false;
  const handlers = new Map<NodeJS.Signals, () => void>();
  if (options.sigProxy) {
    for (const signal of PROXIED_SIGNALS) {
      const handler = () => {
        try {
          killRunning(ctx, record, signal, false);
        } catch {
          // the container is already gone
        }
      };
      handlers.set(signal, handler);
      process.on(signal, handler);
    }
  }
  const runDir = containerPaths(ctx, record.id).run;
  const sendWindowSize = () => {
    const { rows, columns } = process.stdout;
    if (!process.stdout.isTTY || !rows || !columns) return;
    resizeTerminal(runDir, rows, columns).catch(() => {
      // the container is gone: nothing to resize
    });
  };
  const rawMode = options.tty && options.stdin && process.stdin.isTTY === true;
  if (options.tty) {
    sendWindowSize();
    process.on("SIGWINCH", sendWindowSize);
  }
  let onData: ((chunk: Buffer) => void) | undefined;
  if (options.stdin) {
    const detachKeys = new DetachKeys();
    onData = (chunk: Buffer) => {
      const { forward, detach } = detachKeys.scan(chunk);
      if (forward.length > 0) attachment.write(forward);
      if (detach) {
        detached = true;
        attachment.close();
      }
    };
    if (rawMode) process.stdin.setRawMode(true);
    process.stdin.on("data", onData);
    process.stdin.on("end", () => attachment.endInput());
  }
  try {
    await options.connected?.();
    const exit = await attachment.done;
    await cleaning;
    return { detached, exitCode: exit?.exitCode };
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    if (options.tty) process.off("SIGWINCH", sendWindowSize);
    if (rawMode) process.stdin.setRawMode(false);
    if (onData) {
      process.stdin.off("data", onData);
      process.stdin.pause();
      process.stdin.unref?.();
    }
  }
}

/** Run fn for each container reference (forEachReference: each failure printed, the first one's status). */
export function forEachContainer(
  ctx: EngineContext,
  refs: string[],
  fn: (record: ContainerRecord, ref: string) => Promise<void> | void,
): Promise<number> {
  return forEachReference(refs, (ref) => fn(ctx.records.get(ref), ref));
}

/** docker's stop, kill, rm, ...: act on each container reference given and print each one acted on. */
export function actOnEachContainer(
  globals: Record<string, unknown>,
  refs: string[],
  act: (ctx: EngineContext, record: ContainerRecord) => Promise<void> | void,
): Promise<number> {
  return withEngine(globals, (ctx) =>
    forEachContainer(ctx, refs, async (record, ref) => {
      await act(ctx, record);
      writeStdout(`${ref}\n`);
    }),
  );
}

/** A command with no flags that does one thing to each CONTAINER given (pause, unpause). */
export function defineContainerAction(
  meta: { name: string; description: string },
  act: (ctx: EngineContext, record: ContainerRecord) => Promise<void> | void,
) {
  return defineCommand({
    meta,
    args: {
      container: { type: "positional", description: "CONTAINER", required: true },
    },
    passThrough: true,
    run: ({ args, rest, globals }) => actOnEachContainer(globals, [args.container, ...rest], act),
  });
}

/** -t, --time of stop and restart. */
export const stopTimeFlag = { type: "string", alias: "t", description: "Seconds to wait before killing the container", valueHint: "int" } as const;

/** The -t value as Go's strconv.ParseInt reads it (docker rejects what it cannot parse); undefined keeps the container's own timeout. */
export function stopSeconds(time: string | undefined): number | undefined {
  if (time === undefined) return undefined;
  if (!/^-?\d+$/.test(time)) throw new ContainrError("USAGE", `invalid argument "${time}" for "-t, --time" flag: strconv.ParseInt: parsing "${time}": invalid syntax`);
  return Number(time);
}
