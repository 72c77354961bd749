/**
 * `oci exec`: a new process in a running container. containr-init joins
 * every namespace of the container's init (setns, the user namespace first,
 * the mount namespace last) and clones the process into its pid namespace;
 * the parent places it in the container's cgroup; the process then gets its
 * rlimits, no_new_privs, the container's seccomp profile, its capabilities,
 * user, cwd and env (runc's setns_init_linux.go), and a terminal when asked.
 */
import { readFileSync, statSync } from "node:fs";
import { ContainrError, wrap } from "../diag/errors.ts";
import { stepTimer } from "../diag/log.ts";
import { relayTerminal } from "../native/console.ts";
import { closeFd, waitForwardingSignals } from "../native/runtime.ts";
import type { Process, Spec } from "../oci/spec.ts";
import { CLONE, processConfig, type ContainerConfig } from "./config.ts";
import { checkPreservedFds, checkTerminalOptions, launchInit, managerOf, openInit, sessionKeyring, Undo, writePidFile, type RuntimeContext } from "./container.ts";
import { checkHooks } from "./hooks.ts";
import { encodePlan } from "./plan.ts";
import { processSecurity } from "./security.ts";
import { containerDir, readSavedSpec, readState, statusOf } from "./state.ts";

/** /proc/PID/ns entries and the clone flag each is joined with. */
const NAMESPACE_FILES: [string, number][] = [
  ["user", CLONE.NEWUSER],
  ["ipc", CLONE.NEWIPC],
  ["uts", CLONE.NEWUTS],
  ["net", CLONE.NEWNET],
  ["pid", CLONE.NEWPID],
  ["cgroup", CLONE.NEWCGROUP],
  ["time", CLONE.NEWTIME],
  ["mnt", CLONE.NEWNS],
];

export interface ExecOptions {
  id: string;
  /** --process FILE: the whole process (runtime spec's process object) */
  processFile?: string;
  /** the whole process, from a caller in this process (the engine's exec) */
  process?: Process;
  /** the command, when there is no --process */
  args: string[];
  tty?: boolean;
  cwd?: string;
  env?: string[];
  /** "UID[:GID]" */
  user?: string;
  additionalGids?: string[];
  caps?: string[];
  noNewPrivs?: boolean;
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  /** exec even when the container is paused (the process starts frozen) */
  ignorePaused?: boolean;
  /** --preserve-fds N */
  preserveFds?: number;
}

/** The namespaces of pid that differ from ours, to join by path. */
function namespacesOf(pid: number): { flag: number; path: string }[] {
  const joins: { flag: number; path: string }[] = [];
  for (const [name, flag] of NAMESPACE_FILES) {
    const path = `/proc/${pid}/ns/${name}`;
    let theirs: ReturnType<typeof statSync>;
    try {
      theirs = statSync(path);
    } catch {
      continue; // a namespace type this kernel lacks
    }
    const ours = statSync(`/proc/self/ns/${name}`);
    if (theirs.ino !== ours.ino || theirs.dev !== ours.dev) joins.push({ flag, path });
  }
  return joins;
}

function numericId(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) throw new ContainrError("USAGE", `invalid ${what} "${text}": expected a number`);
  return Number(text);
}

/** The process to run: --process, or the container's process with the command line's changes (runc's getProcess). */
function execProcess(spec: Spec | undefined, o: ExecOptions): Process {
  if (o.process) return o.process;
  if (o.processFile) {
    try {
      return JSON.parse(readFileSync(o.processFile, "utf8")) as Process;
    } catch (err) {
      throw new ContainrError("INVALID_CONFIG", `--process ${o.processFile}: ${(err as Error).message}`, { hint: "the file holds the runtime spec's process object as JSON" });
    }
  }
  if (o.args.length === 0) throw new ContainrError("USAGE", "exec needs a command to run, or --process FILE", { hint: "containr oci exec ID COMMAND [ARG...]" });
  const base: Process = structuredClone(spec?.process ?? { user: { uid: 0, gid: 0 }, cwd: "/" });
  const proc: Process = { ...base, args: o.args, terminal: o.tty === true, consoleSize: undefined };
  if (o.cwd) proc.cwd = o.cwd;
  if (o.env?.length) proc.env = [...(proc.env ?? []), ...o.env];
  if (o.user) {
    const [uid, gid] = o.user.split(":");
    proc.user = { ...proc.user, uid: numericId(uid!, "user id"), gid: gid === undefined ? proc.user.gid : numericId(gid, "group id") };
  }
  if (o.additionalGids?.length) proc.user = { ...proc.user, additionalGids: o.additionalGids.map((g) => numericId(g, "group id")) };
  if (o.caps?.length && proc.capabilities) {
    const caps = proc.capabilities;
    for (const set of ["bounding", "effective", "permitted"] as const) caps[set] = [...new Set([...(caps[set] ?? []), ...o.caps])];
  }
  if (o.noNewPrivs) proc.noNewPrivileges = true;
  return proc;
}

/** Run a process in container id; its exit status, or 0 when detached. */
export function execInContainer(ctx: RuntimeContext, o: ExecOptions): number {
  const timer = stepTimer(`exec ${o.id}`);
  const dir = containerDir(ctx.root, o.id);
  const state = readState(ctx.root, o.id);
  const status = statusOf(state, dir);
  if (status === "stopped") throw new ContainrError("INVALID_STATE", `cannot exec in container ${o.id}: it is stopped`);
  if (status === "paused" && !o.ignorePaused) {
    throw new ContainrError("INVALID_STATE", `cannot exec in container ${o.id}: it is paused`, { hint: `resume it first ('containr oci resume ${o.id}'), or pass --ignore-paused` });
  }
  const spec = readSavedSpec(dir);
  const proc = execProcess(spec, o);
  const config: ContainerConfig = {
    ...processConfig(proc),
    rootfs: state.rootfs,
    cloneFlags: 0,
    joins: [],
    mounts: [],
    defaultDevices: false,
    rootPropagation: 0,
    readonlyRoot: false,
    sysctl: [],
    security: processSecurity(proc, spec?.linux?.seccomp),
    maskedPaths: [],
    readonlyPaths: [],
    devices: [],
    hooks: checkHooks(undefined),
  };
  checkTerminalOptions(config.security.terminal !== undefined, o.consoleSocket, o.detach === true);
  checkPreservedFds(o.preserveFds ?? 0);
  timer.step("config");

  // the pidfd pins the init: its /proc/PID/ns paths cannot name a reused pid meanwhile
  const pidfd = openInit(state);
  if (pidfd === undefined) throw new ContainrError("INVALID_STATE", `cannot exec in container ${o.id}: it is stopped`);
  const undo = new Undo();
  let child: ReturnType<typeof launchInit>["child"];
  let terminal: number | undefined;
  try {
    config.joins = namespacesOf(state.pid);
    const plan = encodePlan(config, { exec: true, consoleSocket: o.consoleSocket, keyring: sessionKeyring(o.id), preserveFds: o.preserveFds });
    const launched = launchInit(plan, { cgroup: managerOf(ctx, state), undo, timer });
    child = launched.child;
    if (config.security.terminal && !o.consoleSocket) {
      terminal = launched.channel.receiveTerminal();
      const master = terminal;
      undo.push("close the terminal", () => closeFd(master));
    }
    launched.channel.waitForReady();
    launched.channel.waitForExec();
    timer.step("exec");
  } catch (err) {
    undo.run();
    throw wrap(err, `exec in container ${o.id}`);
  } finally {
    closeFd(pidfd);
  }
  closeFd(child.sock);
  if (o.pidFile) writePidFile(o.pidFile, child.pid);
  if (o.detach) {
    closeFd(child.pidfd);
    timer.done();
    return 0;
  }
  const exit = terminal !== undefined ? relayTerminal(terminal, child.pid) : waitForwardingSignals(child.pid);
  if (terminal !== undefined) closeFd(terminal);
  closeFd(child.pidfd);
  timer.done();
  return exit;
}
