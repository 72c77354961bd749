/**
 * The plan: a ContainerConfig serialised into the flat buffer the C child
 * reads in place (layout in csrc/plan.h; keep the two in step and bump
 * CONTAINR_ABI_VERSION with it). Sections are {u32 type; u32 len; payload}
 * padded to 8 bytes, so new kinds (capabilities, seccomp BPF, masked paths,
 * devices, terminal, user namespace maps) are new section types.
 */
import type { ContainerConfig } from "./config.ts";

/** csrc/containr.h CONTAINR_ABI_VERSION */
export const ABI_VERSION = 2;
const MAGIC = 0x50544e43;

export enum Section {
  Config = 1,
  Rootfs = 2,
  Hostname = 3,
  Domainname = 4,
  Cwd = 5,
  ExecFifo = 6,
  Argv = 7,
  Env = 8,
  Groups = 9,
  Namespace = 10,
  Mount = 11,
  Rlimit = 12,
  Sysctl = 13,
  Caps = 14,
  Seccomp = 15,
  MaskedPath = 16,
  ReadonlyPath = 17,
  Device = 18,
  Terminal = 19,
  ConsoleSocket = 20,
  Hook = 21,
  HookState = 22,
  Keyring = 23,
  PreserveFds = 24,
}

/** csrc/plan.h enum plan_hook_kind: the hooks the C init runs itself. */
export enum InitHook {
  CreateContainer = 0,
  StartContainer = 1,
}

export const PlanFlag = {
  ReadonlyRoot: 1 << 0,
  NoPivot: 1 << 1,
  DefaultDevices: 1 << 2,
  OomScoreAdj: 1 << 3,
  Umask: 1 << 4,
  NoNewPrivs: 1 << 5,
  Exec: 1 << 6,
  RuntimeHooks: 1 << 7,
} as const;

const encoder = new TextEncoder();

class PlanWriter {
  private chunks: Uint8Array[] = [];
  private size = 16;

  section(type: Section, payload: Uint8Array): void {
    const head = new DataView(new ArrayBuffer(8));
    head.setUint32(0, type, true);
    head.setUint32(4, payload.byteLength, true);
    const pad = (8 - (payload.byteLength % 8)) % 8;
    this.chunks.push(new Uint8Array(head.buffer), payload, new Uint8Array(pad));
    this.size += 8 + payload.byteLength + pad;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    const header = new DataView(out.buffer);
    header.setUint32(0, MAGIC, true);
    header.setUint32(4, ABI_VERSION, true);
    header.setUint32(8, this.size, true);
    let offset = 16;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }
}

/** NUL-terminated strings, one after the other. */
function strings(...values: string[]): Uint8Array {
  return encoder.encode(values.map((v) => `${v}\0`).join(""));
}

function counted(values: string[]): Uint8Array {
  const body = strings(...values);
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, values.length, true);
  out.set(body, 4);
  return out;
}

function withHead(head: ArrayBuffer, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.byteLength + tail.byteLength);
  out.set(new Uint8Array(head), 0);
  out.set(tail, head.byteLength);
  return out;
}

export interface PlanOptions {
  /** host path of the exec fifo the child waits on (create); absent for run */
  execFifo?: string;
  /** MS_MOVE + chroot instead of pivot_root (--no-pivot) */
  noPivot?: boolean;
  /** oci exec: join the running container (config.joins) without setting up a root filesystem */
  exec?: boolean;
  /** --console-socket: host path of the unix socket that receives the pty master */
  consoleSocket?: string;
  /** session keyring to join (runc's "_ses.ID"); absent with --no-new-keyring */
  keyring?: string;
  /** the state JSON for the init's own hooks, up to `"pid":` (hookStateJson without a pid) */
  hookStates?: Partial<Record<InitHook, string>>;
  /** --preserve-fds: the caller's fds 3 .. 3+n-1 go to the process */
  preserveFds?: number;
}

export function encodePlan(config: ContainerConfig, options: PlanOptions = {}): Uint8Array {
  const w = new PlanWriter();

  // struct plan_config
  const cfg = new DataView(new ArrayBuffer(32));
  let flags = 0;
  if (config.readonlyRoot) flags |= PlanFlag.ReadonlyRoot;
  if (options.noPivot) flags |= PlanFlag.NoPivot;
  if (config.defaultDevices) flags |= PlanFlag.DefaultDevices;
  if (config.oomScoreAdj !== undefined) flags |= PlanFlag.OomScoreAdj;
  if (config.umask !== undefined) flags |= PlanFlag.Umask;
  if (config.security.noNewPrivileges) flags |= PlanFlag.NoNewPrivs;
  if (options.exec) flags |= PlanFlag.Exec;
  if (config.hooks.prestart.length + config.hooks.createRuntime.length > 0) flags |= PlanFlag.RuntimeHooks;
  cfg.setBigUint64(0, BigInt(config.cloneFlags >>> 0), true);
  cfg.setUint32(8, flags, true);
  cfg.setUint32(12, config.rootPropagation, true);
  cfg.setUint32(16, config.uid, true);
  cfg.setUint32(20, config.gid, true);
  cfg.setInt32(24, config.oomScoreAdj ?? 0, true);
  cfg.setUint32(28, config.umask ?? 0, true);
  w.section(Section.Config, new Uint8Array(cfg.buffer));

  w.section(Section.Rootfs, strings(config.rootfs));
  if (config.hostname) w.section(Section.Hostname, strings(config.hostname));
  if (config.domainname) w.section(Section.Domainname, strings(config.domainname));
  w.section(Section.Cwd, strings(config.cwd));
  if (options.execFifo) w.section(Section.ExecFifo, strings(options.execFifo));
  w.section(Section.Argv, counted(config.args));
  w.section(Section.Env, counted(config.env));

  const groups = new DataView(new ArrayBuffer(4 + 4 * config.additionalGids.length));
  groups.setUint32(0, config.additionalGids.length, true);
  config.additionalGids.forEach((g, i) => groups.setUint32(4 + 4 * i, g, true));
  w.section(Section.Groups, new Uint8Array(groups.buffer));

  for (const join of config.joins) {
    const head = new DataView(new ArrayBuffer(4));
    head.setUint32(0, join.flag >>> 0, true);
    w.section(Section.Namespace, withHead(head.buffer, strings(join.path)));
  }

  for (const m of config.mounts) {
    // struct plan_mount_head: u64 flags; u32 kind; u32 count; u32 propagation[4]
    const head = new DataView(new ArrayBuffer(32));
    head.setBigUint64(0, BigInt(m.flags >>> 0), true);
    head.setUint32(8, m.kind, true);
    head.setUint32(12, m.propagation.length, true);
    m.propagation.forEach((p, i) => head.setUint32(16 + 4 * i, p, true));
    w.section(Section.Mount, withHead(head.buffer, strings(m.source, m.destination, m.fstype, m.data)));
  }

  for (const rl of config.rlimits) {
    const body = new DataView(new ArrayBuffer(24));
    body.setUint32(0, rl.resource, true);
    body.setBigUint64(8, rl.soft, true);
    body.setBigUint64(16, rl.hard, true);
    w.section(Section.Rlimit, new Uint8Array(body.buffer));
  }

  for (const [key, value] of config.sysctl) w.section(Section.Sysctl, strings(key, value));
  encodeSecurity(w, config, options);
  return w.finish();
}

function u32s(...values: number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((v, i) => view.setUint32(4 * i, v >>> 0, true));
  return new Uint8Array(view.buffer);
}

function encodeSecurity(w: PlanWriter, config: ContainerConfig, options: PlanOptions): void {
  const { caps, seccomp, terminal } = config.security;
  if (caps) {
    // struct plan_caps: u64 bounding, effective, inheritable, permitted, ambient
    const body = new DataView(new ArrayBuffer(40));
    [caps.bounding, caps.effective, caps.inheritable, caps.permitted, caps.ambient].forEach((m, i) => body.setBigUint64(8 * i, m, true));
    w.section(Section.Caps, new Uint8Array(body.buffer));
  }
  if (seccomp) w.section(Section.Seccomp, withHead(u32s(seccomp.flags, seccomp.filter.byteLength / 8).buffer as ArrayBuffer, seccomp.filter));
  for (const path of config.readonlyPaths) w.section(Section.ReadonlyPath, strings(path));
  for (const path of config.maskedPaths) w.section(Section.MaskedPath, strings(path));
  for (const d of config.devices) w.section(Section.Device, withHead(u32s(d.mode, d.major, d.minor, d.uid, d.gid, 0).buffer as ArrayBuffer, strings(d.path)));
  if (terminal) {
    const body = new DataView(new ArrayBuffer(8));
    body.setUint16(0, terminal.rows, true);
    body.setUint16(2, terminal.cols, true);
    w.section(Section.Terminal, new Uint8Array(body.buffer));
  }
  if (options.consoleSocket) w.section(Section.ConsoleSocket, strings(options.consoleSocket));
  if (options.keyring) w.section(Section.Keyring, strings(options.keyring));
  if (options.preserveFds) w.section(Section.PreserveFds, u32s(options.preserveFds));
  const initHooks: [InitHook, typeof config.hooks.createContainer][] = [
    [InitHook.CreateContainer, config.hooks.createContainer],
    [InitHook.StartContainer, config.hooks.startContainer],
  ];
  for (const [kind, hooks] of initHooks) {
    for (const h of hooks) w.section(Section.Hook, withHead(u32s(kind, h.timeout, h.args.length, h.env.length).buffer as ArrayBuffer, strings(h.path, ...h.args, ...h.env)));
    const state = options.hookStates?.[kind];
    if (hooks.length > 0 && state !== undefined) w.section(Section.HookState, withHead(u32s(kind).buffer as ArrayBuffer, strings(state)));
  }
}
