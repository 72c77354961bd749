/**
 * `create` (and the first half of `run`): the image is resolved (pulled
 * when it is not in the store, as Docker does), the record is stored
 * (which takes the name), the root filesystem is mounted as an overlay of
 * the image's layers plus the container's own diff/ and work/, the /etc
 * files are written, and buildSpec's config.json goes into the bundle. Any
 * failure undoes every step, so nothing half-created is left.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toContainrError, wrap } from "../diag/errors.ts";
import { failpoint } from "../diag/failpoints.ts";
import { log, stepTimer } from "../diag/log.ts";
import { makeWritableLayer, mountRootfs } from "./rootfs.ts";
import { pullImage, type PullProgress } from "../image/pull.ts";
import { resolveImage, type ImageStore, type ResolvedImage } from "../image/store.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import { etcFilesFor } from "./etc-files.ts";
import { generateId } from "./ids.ts";
import type { ContainerRecord } from "./records.ts";
import type { RunOptions } from "./run-options.ts";
import { buildSpec } from "./spec-builder.ts";
import { reaperPath } from "../native/reaper.ts";
import { destroyContainer } from "./teardown.ts";
import { imageVolumeRequests, prepareMounts, type MountRequest } from "./mounts.ts";
import { withVolumes } from "./volumes.ts";
import { portKey, toPortBindings, type PortBindings } from "./network-ports.ts";
import { resolveNetworkMode } from "./network.ts";

/** The json-file log's rotation (Docker's max-size and max-file). */
export interface LogConfig {
  /** "json-file", or "none" for no log */
  type: "json-file" | "none";
  /** bytes; 0: never rotate */
  maxSize: number;
  maxFiles: number;
}

/**
 * Docker keeps json-file logs forever by default, a classic way to fill a
 * disk; containr rotates at 10 MB and keeps 3 files unless told otherwise.
 */
export const DEFAULT_LOG_CONFIG: LogConfig = { type: "json-file", maxSize: 10 * 1024 * 1024, maxFiles: 3 };

/** Docker's HostConfig, the part inspect shows and the lifecycle reads. */
export interface HostConfig {
  AutoRemove: boolean;
  RestartPolicy: { Name: string; MaximumRetryCount: number };
  NetworkMode: string;
  /** --network-alias: containr's own field (Docker keeps aliases in NetworkingConfig); inspect shows them as the endpoint's Aliases */
  NetworkAliases?: string[];
  /** -p, Docker's shape: "80/tcp" → [{HostIp, HostPort}] */
  PortBindings: PortBindings;
  /** -P */
  PublishAllPorts: boolean;
  Privileged: boolean;
  ReadonlyRootfs: boolean;
  CapAdd: string[];
  CapDrop: string[];
  SecurityOpt: string[];
  Memory: number;
  MemorySwap: number;
  NanoCpus: number;
  CpuShares: number;
  CpusetCpus: string;
  PidsLimit: number;
  Ulimits: { Name: string; Soft: number; Hard: number }[];
  Tmpfs: Record<string, string>;
  Init: boolean;
  LogConfig: { Type: string; Config: Record<string, string> };
}

export interface CreateRequest {
  options: RunOptions;
  log?: LogConfig;
  /** the --security-opt values as given, for inspect */
  securityOpt?: string[];
  /** progress of a pull, when the image must be pulled */
  progress?: PullProgress;
  /** "Unable to find image ... locally" goes here */
  notice?: (line: string) => void;
}

async function findOrPull(store: ImageStore, request: CreateRequest): Promise<ResolvedImage> {
  const ref = request.options.image;
  try {
    return resolveImage(store, ref);
  } catch (err) {
    if (toContainrError(err).code !== "IMAGE_NOT_FOUND") throw err;
  }
  request.notice?.(`Unable to find image '${ref}' locally`);
  await pullImage(store, ref, { progress: request.progress });
  return resolveImage(store, ref);
}

function hostConfigOf(options: RunOptions, logConfig: LogConfig, securityOpt: string[]): HostConfig {
  const r = options.resources;
  return {
    AutoRemove: options.autoRemove,
    RestartPolicy: { Name: options.restart.name, MaximumRetryCount: options.restart.maximumRetryCount },
    NetworkMode: options.network,
    ...(options.networkAliases.length > 0 ? { NetworkAliases: options.networkAliases } : {}),
    PortBindings: toPortBindings(options.publish),
    PublishAllPorts: options.publishAll,
    Privileged: options.privileged,
    ReadonlyRootfs: options.readOnly,
    CapAdd: options.capAdd,
    CapDrop: options.capDrop,
    SecurityOpt: securityOpt,
    Memory: r.memory ?? 0,
    MemorySwap: r.memorySwap ?? 0,
    NanoCpus: r.nanoCpus ?? 0,
    CpuShares: r.cpuShares ?? 0,
    CpusetCpus: r.cpusetCpus ?? "",
    PidsLimit: r.pidsLimit ?? 0,
    Ulimits: options.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    Tmpfs: Object.fromEntries(options.tmpfs.map((t) => [t.destination, t.options.join(",")])),
    Init: options.init,
    LogConfig: {
      Type: logConfig.type,
      Config: logConfig.type === "none" ? {} : { "max-size": String(logConfig.maxSize), "max-file": String(logConfig.maxFiles) },
    },
  };
}

export function hostConfigOfRecord(record: ContainerRecord): HostConfig {
  return record.hostConfig as HostConfig;
}

/** Create a container; returns its record. The root filesystem stays mounted until the container stops. */
export async function createContainer(ctx: EngineContext, request: CreateRequest): Promise<ContainerRecord> {
  const { options } = request;
  const logConfig = request.log ?? DEFAULT_LOG_CONFIG;
  const timer = stepTimer("create");
  const store = ctx.images.open();
  let record: ContainerRecord | undefined;
  let requests: MountRequest[] = [];
  try {
    // a user network's name, id or id prefix becomes its name (NETWORK_NOT_FOUND before anything is made)
    options.network = resolveNetworkMode(ctx.dataRoot, options.network);
    const image = await findOrPull(store, request);
    timer.step("image");
    const id = generateId();
    record = ctx.records.create({
      id,
      name: options.name,
      image: options.image,
      imageId: image.id,
      command: [],
      labels: {},
      config: {},
      hostConfig: hostConfigOf(options, logConfig, request.securityOpt ?? []),
      mounts: [],
    });
    store.addImageUser(image.id, id);
    timer.step("record");
    failpoint("engine.create.record");
    const paths = containerPaths(ctx, id);
    for (const dir of [paths.bundle, paths.rootfs]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    makeWritableLayer(paths);
    mountRootfs(paths, image.layerDirs, options.autoRemove);
    timer.step("rootfs");
    failpoint("engine.create.rootfs");

    requests = [...options.mounts, ...imageVolumeRequests(image.config.config?.Volumes, options.mounts)];
    // the volume store (a SQLite open and close) only when there is something to mount
    const mounts = requests.length === 0 ? { spec: [], points: [] } : withVolumes(ctx.dataRoot, (volumes) => prepareMounts(volumes, id, paths.rootfs, requests));
    record = ctx.records.update(id, (r) => ({ ...r, mounts: mounts.points }));
    failpoint("engine.create.volumes");

    const hostname = options.hostname ?? (options.network === "host" ? undefined : id.slice(0, 12));
    const built = buildSpec({
      id,
      rootfs: paths.rootfs,
      options,
      image: image.config.config,
      etcFiles: { hosts: paths.hosts, hostname: paths.hostname, resolvConf: paths.resolvConf },
      volumeMounts: mounts.spec,
      initBinary: options.init ? reaperPath() : undefined,
    });
    const etc = etcFilesFor(options.network, hostname ?? built.spec.hostname ?? id.slice(0, 12));
    writeFileSync(paths.hosts, etc.hosts, { mode: 0o644 });
    writeFileSync(paths.hostname, etc.hostname, { mode: 0o644 });
    writeFileSync(paths.resolvConf, etc.resolvConf, { mode: 0o644 });
    writeFileSync(join(paths.bundle, "config.json"), JSON.stringify(built.spec, null, 2), { mode: 0o600 });
    timer.step("spec and /etc files");
    failpoint("engine.create.bundle");

    const args = built.spec.process?.args ?? [];
    // Docker's Config.ExposedPorts: the image's EXPOSE and every port -p publishes
    const exposed = Object.keys(image.config.config?.ExposedPorts ?? {});
    for (const b of options.publish) exposed.push(portKey(b.containerPort, b.proto));
    const config = exposed.length === 0 ? built.config : { ...built.config, ExposedPorts: Object.fromEntries([...new Set(exposed)].sort().map((k) => [k, {}])) };
    record = ctx.records.update(id, (r) => ({
      ...r,
      command: args,
      labels: built.config.Labels,
      config,
    }));
    timer.done();
    return record;
  } catch (err) {
    if (record !== undefined) {
      try {
        destroyContainer(ctx, record, { removeAnonymousVolumes: true, volumesRequested: requests.length > 0 });
      } catch (cleanup) {
        log.warn(`clean-up after a failed create: ${toContainrError(cleanup).message}`);
      }
    }
    throw wrap(err, "create container");
  }
}
