/**
 * The plan: a ContainerConfig serialised into the flat buffer the C child
 * reads in place (layout in csrc/plan.h; keep the two in step and bump
 * CONTAINR_ABI_VERSION with it). Sections are {u32 type; u32 len; payload}
 * padded to 8 bytes, so new kinds (capabilities, seccomp BPF, masked paths,
 * devices, terminal, user namespace maps) are new section types.
 */
import type { ContainerConfig } from "./config.ts";

/** csrc/containr.h CONTAINR_ABI_VERSION */
export const ABI_VERSION = 1;
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
}

export const PlanFlag = {
  ReadonlyRoot: 1 << 0,
  NoPivot: 1 << 1,
  DefaultDevices: 1 << 2,
  OomScoreAdj: 1 << 3,
  Umask: 1 << 4,
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
  return w.finish();
}
