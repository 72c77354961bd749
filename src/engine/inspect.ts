/**
 * Docker's shapes of a container: `inspect`'s JSON (Id, Created, Path, Args,
 * State, Image, Name, RestartCount, HostConfig, Mounts, Config, ...) and the
 * summary `ps` lists, both computed from the record and the observed state.
 */
import { observe, type ObservedState } from "./container-state.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import type { HostConfig } from "./create.ts";
import type { ContainerRecord } from "./records.ts";

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ObservedState;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  HostConfig: HostConfig;
  GraphDriver: { Name: string; Data: Record<string, string> };
  Mounts: object[];
  Config: object;
}

export function inspectContainer(ctx: EngineContext, record: ContainerRecord): ContainerInspect {
  const { state, engine } = observe(ctx, record);
  const paths = containerPaths(ctx, record.id);
  const hostConfig = record.hostConfig as HostConfig;
  return {
    Id: record.id,
    Created: record.created,
    Path: record.command[0] ?? "",
    Args: record.command.slice(1),
    State: state,
    Image: record.imageId,
    ResolvConfPath: paths.resolvConf,
    HostnamePath: paths.hostname,
    HostsPath: paths.hosts,
    LogPath: hostConfig.LogConfig?.Type === "none" ? "" : paths.log,
    Name: `/${record.name}`,
    RestartCount: engine.restartCount,
    Driver: "overlay",
    Platform: "linux",
    HostConfig: hostConfig,
    GraphDriver: { Name: "overlay", Data: { MergedDir: paths.rootfs, UpperDir: paths.diff, WorkDir: paths.work } },
    Mounts: record.mounts,
    Config: record.config,
  };
}

/** One row of `ps`, with the fields docker's formatter context offers. */
export interface ContainerSummary {
  record: ContainerRecord;
  state: ObservedState;
}

export function summarize(ctx: EngineContext, record: ContainerRecord): ContainerSummary {
  return { record, state: observe(ctx, record).state };
}
