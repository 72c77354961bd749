/**
 * A container's volumes, bind mounts and --mount tmpfs: what -v and --mount
 * asked for (MountRequest, parsed by the CLI as docker/cli does), checked
 * with the daemon's rules and wording (moby volume/mounts linux_parser), then
 * at create turned into the OCI spec's mounts and inspect's Mounts:
 *
 * - a named volume is taken (created when missing) in the volume store,
 *   with the container recorded as its user; an image VOLUME path that no
 *   mount covers, and `-v /path`, get an anonymous volume;
 * - an empty volume is filled with the image's content at its path
 *   (Docker's copy-up, owners and modes kept), unless volume-nocopy;
 * - `-v /host:/path` creates a missing host directory (Docker's behaviour
 *   for -v); `--mount type=bind` refuses a missing source.
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { posix } from "node:path";
import { ContainrError, toContainrError } from "../diag/errors.ts";
import { log } from "../diag/log.ts";
import type { Mount } from "../oci/spec.ts";
import { close, openInRoot, openRoot } from "../native/fs.ts";
import { copyContents, copyDirectoryMetadata, PinnedDir } from "./tree-copy.ts";
import { isAnonymous, validateVolumeName, type VolumeRecord, type VolumeStore } from "./volumes.ts";

export const PROPAGATIONS = ["rprivate", "private", "rshared", "shared", "rslave", "slave"] as const;
export type Propagation = (typeof PROPAGATIONS)[number];

export type MountRequest =
  | {
      type: "bind";
      source: string;
      target: string;
      readOnly: boolean;
      propagation?: Propagation;
      /** -v creates a missing source directory; --mount refuses it */
      createSource: boolean;
    }
  | {
      type: "volume";
      /** undefined: an anonymous volume */
      source?: string;
      target: string;
      readOnly: boolean;
      noCopy: boolean;
      /** --mount volume-label=, volume-opt= for a volume created here */
      labels?: Record<string, string>;
      driverOptions?: Record<string, string>;
    }
  | { type: "tmpfs"; target: string; readOnly: boolean; sizeBytes?: number; mode?: number };

/** inspect's Mounts entry (Docker's types.MountPoint). */
export interface MountPoint {
  Type: "bind" | "volume" | "tmpfs";
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

function usage(message: string, hint?: string): ContainrError {
  return new ContainrError("USAGE", message, hint === undefined ? {} : { hint });
}

/** Go's path.Clean of an absolute path. */
function cleanPath(p: string): string {
  const normal = posix.normalize(p);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}

/**
 * The daemon's checks of the requested mounts (moby's linux parser and
 * verifyContainerSettings): absolute targets, never "/", no target twice,
 * valid volume names. Returns the requests with cleaned targets.
 */
export function checkMounts(requests: readonly MountRequest[]): MountRequest[] {
  const seen = new Set<string>();
  return requests.map((request) => {
    if (!request.target.startsWith("/")) {
      throw usage(`invalid mount config for type "${request.type}": invalid mount path: '${request.target}' mount path must be absolute`);
    }
    const target = cleanPath(request.target);
    if (target === "/") throw usage(`invalid mount config for type "${request.type}": invalid specification: destination can't be '/'`);
    if (seen.has(target)) throw usage(`Duplicate mount point: ${target}`);
    seen.add(target);
    if (request.type === "volume" && request.source !== undefined) validateVolumeName(request.source);
    if (request.type === "bind") {
      if (!request.source.startsWith("/")) {
        throw usage(`invalid mount config for type "bind": invalid mount path: '${request.source}' mount path must be absolute`);
      }
      if (!request.createSource && !existsSync(request.source)) {
        throw usage(`invalid mount config for type "bind": bind source path does not exist: ${request.source}`, "create the directory first, or use -v, which creates it");
      }
    }
    return { ...request, target };
  });
}

/** Targets an explicit mount covers, so an image VOLUME there gets no anonymous volume. */
function coveredTargets(requests: readonly MountRequest[]): Set<string> {
  return new Set(requests.map((r) => r.target));
}

/** The image's VOLUME paths that need an anonymous volume (Docker: every one no mount covers). */
export function imageVolumeRequests(imageVolumes: Record<string, object> | undefined, requests: readonly MountRequest[]): MountRequest[] {
  const covered = coveredTargets(requests);
  const out: MountRequest[] = [];
  for (const path of Object.keys(imageVolumes ?? {}).sort()) {
    const target = cleanPath(posix.join("/", path));
    if (target === "/" || covered.has(target)) continue;
    covered.add(target);
    out.push({ type: "volume", target, readOnly: false, noCopy: false });
  }
  return out;
}

/** Docker's options for a tmpfs from --mount (the same defaults as --tmpfs). */
function tmpfsOptions(request: Extract<MountRequest, { type: "tmpfs" }>): string[] {
  const options = ["noexec", "nosuid", "nodev", "rprivate"];
  if (request.readOnly) options.push("ro");
  if (request.sizeBytes !== undefined && request.sizeBytes > 0) options.push(`size=${request.sizeBytes}`);
  if (request.mode !== undefined) options.push(`mode=${request.mode.toString(8).padStart(4, "0")}`);
  return options;
}

/**
 * Fill an empty volume with the image's content at `target` (Docker's
 * copy-up): resolved in the container's root (RESOLVE_IN_ROOT), copied with
 * owners, modes and times, and the volume's root gets the directory's owner
 * and mode. Nothing to copy when the image has no directory there.
 */
export function copyUp(rootfs: string, target: string, mountpoint: string): boolean {
  const rootfd = openRoot(rootfs);
  let source: PinnedDir | undefined;
  try {
    let fd: number;
    try {
      fd = openInRoot(rootfd, target, false);
    } catch (err) {
      if (toContainrError(err).errno === 2 /* ENOENT */ || toContainrError(err).errno === 20 /* ENOTDIR */) return false;
      throw err;
    }
    source = new PinnedDir(fd);
    if (!statSync(source.path).isDirectory()) return false;
    const destination = new PinnedDir(openRoot(mountpoint));
    try {
      copyContents(source, destination, { preserveOwner: true, owner: { uid: 0, gid: 0 } });
      copyDirectoryMetadata(source, destination);
    } finally {
      destination.close();
    }
    return true;
  } finally {
    source?.close();
    close(rootfd);
  }
}

export interface PreparedMounts {
  spec: Mount[];
  points: MountPoint[];
}

/**
 * At create: take the volumes, copy up, create -v's missing host
 * directories, and give the spec's mounts and inspect's Mounts. The rootfs
 * must be mounted (copy-up reads the image from it).
 */
export function prepareMounts(volumes: VolumeStore, containerId: string, rootfs: string, requests: readonly MountRequest[]): PreparedMounts {
  const spec: Mount[] = [];
  const points: MountPoint[] = [];
  for (const request of requests) {
    const rw = !request.readOnly;
    if (request.type === "tmpfs") {
      spec.push({ destination: request.target, type: "tmpfs", source: "tmpfs", options: tmpfsOptions(request) });
      points.push({ Type: "tmpfs", Source: "", Destination: request.target, Mode: "", RW: rw, Propagation: "" });
      continue;
    }
    if (request.type === "bind") {
      if (!existsSync(request.source)) {
        // -v's Docker behaviour: a missing host path becomes a directory (root's, 0755)
        mkdirSync(request.source, { recursive: true, mode: 0o755 });
      }
      const propagation = request.propagation ?? "rprivate";
      const options = ["rbind", propagation];
      if (request.readOnly) options.push("ro");
      spec.push({ destination: request.target, type: "bind", source: request.source, options });
      points.push({ Type: "bind", Source: request.source, Destination: request.target, Mode: "", RW: rw, Propagation: propagation });
      continue;
    }
    const { volume } = volumes.acquire(containerId, {
      name: request.source,
      labels: request.labels,
      options: request.driverOptions,
    });
    const mountpoint = volumes.mountpoint(volume.name);
    // A volume with driver options gets its content when it is mounted (at start): no copy-up into the bare directory.
    if (!request.noCopy && Object.keys(volume.options).length === 0 && volumes.isEmpty(volume.name)) {
      if (copyUp(rootfs, request.target, mountpoint)) log.debug(`volume ${volume.name}: filled from the image's ${request.target}`);
    }
    const options = ["rbind", "rprivate"];
    if (request.readOnly) options.push("ro");
    spec.push({ destination: request.target, type: "bind", source: mountpoint, options });
    points.push({ Type: "volume", Name: volume.name, Source: mountpoint, Destination: request.target, Driver: "local", Mode: "z", RW: rw, Propagation: "" });
  }
  return { spec, points };
}

/** The volumes a container's Mounts name. */
export function volumeNames(points: readonly object[]): string[] {
  return (points as MountPoint[]).filter((p) => p.Type === "volume" && p.Name !== undefined).map((p) => p.Name as string);
}

/** At start: mount the driver options of the container's volumes (a tmpfs or bind volume). */
export function mountVolumesForStart(volumes: VolumeStore, points: readonly object[]): void {
  for (const name of volumeNames(points)) {
    let volume: VolumeRecord;
    try {
      volume = volumes.get(name);
    } catch (err) {
      throw new ContainrError("VOLUME_NOT_FOUND", `start: volume ${name} was removed while the container still uses it`, {
        hint: "remove the container, or create the volume again",
        cause: toContainrError(err),
      });
    }
    volumes.ensureMounted(volume);
  }
}

/**
 * At container removal: drop the container from its volumes' users and,
 * with `rm -v`, remove the anonymous ones nobody else uses (named volumes
 * always survive, as Docker).
 */
export function releaseVolumes(volumes: VolumeStore, containerId: string, removeAnonymous: boolean, containerExists: (id: string) => boolean): void {
  const names = volumes.release(containerId);
  if (!removeAnonymous) return;
  for (const name of names) {
    try {
      const volume = volumes.get(name);
      if (!isAnonymous(volume)) continue;
      volumes.removeVolume(name, { containerExists });
    } catch (err) {
      const error = toContainrError(err);
      if (error.code === "VOLUME_IN_USE" || error.code === "VOLUME_NOT_FOUND") continue;
      log.warn(`remove volume ${name}: ${error.message}`);
    }
  }
}
