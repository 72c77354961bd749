/**
 * The parent's side of the sync protocol (csrc/sync.h): one waitFor<Step>
 * per step of the child, youki style. DEBUG and WARNING lines are re-emitted
 * through the logger on the way; an ERROR becomes a ContainrError naming
 * the step and the errno; any other message than the expected one is an
 * error naming both.
 */
import { ContainrError, type ErrorCode } from "../diag/errors.ts";
import { errnoName } from "../diag/errno.ts";
import { log } from "../diag/log.ts";
import { receiveWithFd } from "../native/console.ts";
import { closeFd, syncReceive, syncSend, SYNC_MESSAGE_SIZE } from "../native/runtime.ts";

export enum MessageType {
  ChildReadyForMaps = 1,
  MapsWritten = 2,
  ChildCgroupWait = 3,
  CgroupDone = 4,
  ChildMountsDone = 5,
  ChildReady = 6,
  Error = 7,
  Debug = 8,
  Warning = 9,
  ChildPid = 10,
  ChildHooks = 11,
  HooksDone = 12,
  ChildTerminal = 13,
}

export enum Stage {
  Setup = 0,
  Namespaces = 1,
  Cgroup = 2,
  Mounts = 3,
  Devices = 4,
  Pivot = 5,
  Process = 6,
  User = 7,
  ExecFifo = 8,
  Exec = 9,
  Capabilities = 10,
  Seccomp = 11,
  Terminal = 12,
  Hooks = 13,
  Masks = 14,
}

export interface Message {
  type: MessageType;
  errno: number;
  stage: Stage;
  value: number;
  text: string;
}

const decoder = new TextDecoder();

export function decodeMessage(buf: Uint8Array): Message {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = view.getUint32(12, true);
  return {
    type: view.getUint32(0, true),
    errno: view.getInt32(4, true),
    stage: view.getUint32(8, true),
    value: Number(view.getBigInt64(16, true)),
    text: decoder.decode(buf.subarray(24, 24 + len)),
  };
}

const STAGE_CODES: Partial<Record<Stage, ErrorCode>> = {
  [Stage.Namespaces]: "NAMESPACE_FAILED",
  [Stage.Mounts]: "MOUNT_FAILED",
  [Stage.Devices]: "MOUNT_FAILED",
  [Stage.Pivot]: "MOUNT_FAILED",
};

/** The ContainrError for an ERROR message from the child. */
export function childError(msg: Message): ContainrError {
  const name = errnoName.of(msg.errno);
  if (msg.stage === Stage.Exec) {
    if (msg.errno === errnoName.number("ENOENT")) {
      return new ContainrError("EXECUTABLE_NOT_FOUND", msg.text, {
        errno: msg.errno,
        hint: "check process.args[0]: it must exist in the container's root filesystem, or in the PATH of process.env",
      });
    }
    if (["EACCES", "ENOEXEC", "EPERM", "EISDIR"].includes(name)) {
      return new ContainrError("CANNOT_EXEC", `${msg.text}: ${name}: ${errnoName.describe(name)}`, {
        errno: msg.errno,
        hint: "the command must be an executable file for this machine (mode +x, a valid ELF or #! script)",
      });
    }
  }
  // a hook's failure carries its status and output in the text, not in the errno
  if (msg.stage === Stage.Hooks && msg.errno === errnoName.number("ECANCELED")) return new ContainrError("CONTAINER_INIT_FAILED", msg.text, { hint: "fix or remove the hook in config.json" });
  const text = `${msg.text}: ${name}: ${errnoName.describe(name)}`;
  if (name === "EPERM" || name === "EACCES") {
    return new ContainrError("PERMISSION_DENIED", text, { errno: msg.errno, hint: permissionHint(msg.stage) });
  }
  const code = STAGE_CODES[msg.stage] ?? "CONTAINER_INIT_FAILED";
  return new ContainrError(code, text, { errno: msg.errno });
}

function permissionHint(stage: Stage): string {
  const asRoot = process.getuid?.() === 0;
  if (stage === Stage.Namespaces && !asRoot) {
    return "an unprivileged user can create namespaces only inside a user namespace: run as root, or use a rootless config (containr oci spec --rootless), see docs/oci-runtime.md";
  }
  return asRoot
    ? "root was refused: a security module or a read-only mount may forbid it (rerun with --debug)"
    : "run as root, or use a rootless config (containr oci spec --rootless)";
}

const NAMES: Record<MessageType, string> = {
  [MessageType.ChildReadyForMaps]: "CHILD_READY_FOR_MAPS",
  [MessageType.MapsWritten]: "MAPS_WRITTEN",
  [MessageType.ChildCgroupWait]: "CHILD_CGROUP_WAIT",
  [MessageType.CgroupDone]: "CGROUP_DONE",
  [MessageType.ChildMountsDone]: "CHILD_MOUNTS_DONE",
  [MessageType.ChildReady]: "CHILD_READY",
  [MessageType.Error]: "ERROR",
  [MessageType.Debug]: "DEBUG",
  [MessageType.Warning]: "WARNING",
  [MessageType.ChildPid]: "CHILD_PID",
  [MessageType.ChildHooks]: "CHILD_HOOKS",
  [MessageType.HooksDone]: "HOOKS_DONE",
  [MessageType.ChildTerminal]: "CHILD_TERMINAL",
};

const nameOf = (type: number) => NAMES[type as MessageType] ?? `message type ${type}`;

/** CHILD_PID's flag: the init was created in its cgroup (csrc/init-helper.h). */
const SPAWN_PID_IN_CGROUP = 1;

/** How long the parent waits for any one step of the child before giving up. */
const STEP_TIMEOUT_MS = 60_000;

export class SyncChannel {
  private readonly buf = new Uint8Array(SYNC_MESSAGE_SIZE);

  constructor(readonly fd: number) {}

  /** The next message that is not a log line; undefined on EOF. */
  private next(): Message | undefined {
    for (;;) {
      if (!syncReceive(this.fd, this.buf, STEP_TIMEOUT_MS)) return undefined;
      const msg = decodeMessage(this.buf);
      if (msg.type === MessageType.Debug) log.debug(`container init: ${msg.text}`);
      else if (msg.type === MessageType.Warning) log.warn(msg.text);
      else if (msg.type === MessageType.Error) throw childError(msg);
      else return msg;
    }
  }

  private expect(type: MessageType, step: string): Message {
    const msg = this.next();
    if (msg === undefined) {
      throw new ContainrError("CONTAINER_INIT_FAILED", `the container's init exited before ${step} (expected ${nameOf(type)})`);
    }
    if (msg.type !== type) {
      throw new ContainrError("INTERNAL", `protocol error: expected ${nameOf(type)} (${step}), received ${nameOf(msg.type)}`);
    }
    return msg;
  }

  /**
   * containr-init cloned the container's init (a child of this process)
   * and exits. inCgroup: clone3 already placed it (CLONE_INTO_CGROUP;
   * csrc/init-helper.h's SPAWN_PID_IN_CGROUP in the stage field).
   */
  waitForChildPid(): { pid: number; inCgroup: boolean } {
    const msg = this.expect(MessageType.ChildPid, "creating its namespaces");
    return { pid: msg.value, inCgroup: (msg.stage & SPAWN_PID_IN_CGROUP) !== 0 };
  }

  /** The init is alive in its namespaces and waits to be placed in its cgroup. */
  waitForCgroupWait(): void {
    this.expect(MessageType.ChildCgroupWait, "asking for its cgroup");
  }

  sendCgroupDone(): void {
    syncSend(this.fd, MessageType.CgroupDone);
  }

  /** containr-init created the user namespace and waits for its uid/gid maps; its pid (the maps are written for it). */
  waitForMapsRequest(): number {
    return this.expect(MessageType.ChildReadyForMaps, "asking for its uid/gid maps").value;
  }

  sendMapsWritten(): void {
    syncSend(this.fd, MessageType.MapsWritten);
  }

  /** Mounted, not yet pivoted: the init waits while the parent runs prestart and createRuntime hooks. */
  waitForHooksRequest(): void {
    this.expect(MessageType.ChildHooks, "asking for the prestart and createRuntime hooks");
  }

  sendHooksDone(): void {
    syncSend(this.fd, MessageType.HooksDone);
  }

  /** The pty master the init sends when there is no console socket (SCM_RIGHTS on CHILD_TERMINAL). */
  receiveTerminal(): number {
    for (;;) {
      const got = receiveWithFd(this.fd, SYNC_MESSAGE_SIZE, STEP_TIMEOUT_MS, "wait for the container's terminal");
      if (got.eof) throw new ContainrError("CONTAINER_INIT_FAILED", "the container's init exited before sending its terminal");
      const msg = decodeMessage(got.data);
      if (msg.type === MessageType.ChildTerminal && got.fd >= 0) return got.fd;
      if (got.fd >= 0) closeFd(got.fd);
      if (msg.type === MessageType.Debug) log.debug(`container init: ${msg.text}`);
      else if (msg.type === MessageType.Warning) log.warn(msg.text);
      else if (msg.type === MessageType.Error) throw childError(msg);
      else throw new ContainrError("INTERNAL", `protocol error: expected CHILD_TERMINAL, received ${nameOf(msg.type)}`);
    }
  }

  waitForMountsDone(): void {
    this.expect(MessageType.ChildMountsDone, "setting up its root filesystem");
  }

  waitForReady(): void {
    this.expect(MessageType.ChildReady, "getting ready to run the command");
  }

  /** After READY without an exec fifo: EOF means execve succeeded (the socket is close-on-exec). */
  waitForExec(): void {
    const msg = this.next();
    if (msg !== undefined) throw new ContainrError("INTERNAL", `protocol error: expected EOF after exec, received ${nameOf(msg.type)}`);
  }
}
