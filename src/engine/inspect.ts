/**
 * Docker's shapes of a container: `inspect`'s JSON (Id, Created, Path, Args,
 * State, Image, Name, RestartCount, HostConfig, Mounts, Config, ...) and the
 * summary `ps` lists, both computed from the record and the observed state.
 */
import { observe, type ObservedState } from "./container-state.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import type { HostConfig } from "./create.ts";
import type { ContainerRecord } from "./records.ts";
import { exposedPorts, networkOf } from "./network.ts";
import { networkSettingsPorts } from "./network-ports.ts";

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
  NetworkSettings: NetworkSettings;
}

/** Docker's EndpointSettings, the fields containr fills. */
export interface EndpointSettings {
  IPAMConfig: null;
  Links: null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: null;
}

export interface NetworkSettings {
  Bridge: string;
  SandboxID: string;
  SandboxKey: string;
  Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  MacAddress: string;
  Networks: Record<string, EndpointSettings>;
}

/** A stable 64-hex id for a name (the network's id, an endpoint's), as Docker shows ids. */
// Bun's hasher, not node:crypto: the bundle would load node:crypto (and node:stream) at every command's start
const idOf = (text: string) => new Bun.CryptoHasher("sha256").update(`containr/${text}`).digest("hex");

/** The id of a built-in network (bridge, host, none): stable, as Docker's are per host. */
export const builtinNetworkId = (name: string) => idOf(`network/${name}`);

/**
 * NetworkSettings as Docker shows it: the address, gateway, MAC and ports
 * while the container runs on the bridge, empty fields otherwise; one entry
 * in Networks, named after the network mode.
 */
function networkSettings(record: ContainerRecord, running: boolean, pid: number): NetworkSettings {
  const hostConfig = record.hostConfig as HostConfig;
  const mode = hostConfig.NetworkMode;
  const attached = running ? networkOf(record.id) : undefined;
  const endpoint: EndpointSettings = {
    IPAMConfig: null,
    Links: null,
    Aliases: hostConfig.NetworkAliases ?? null,
    MacAddress: attached?.mac ?? "",
    DriverOpts: null,
    NetworkID: attached?.networkId ?? builtinNetworkId(mode),
    EndpointID: attached === undefined ? "" : idOf(`endpoint/${record.id}`),
    Gateway: attached?.gateway ?? "",
    IPAddress: attached?.address ?? "",
    IPPrefixLen: attached?.prefix ?? 0,
    IPv6Gateway: "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
  return {
    Bridge: "",
    SandboxID: running ? idOf(`sandbox/${record.id}`) : "",
    SandboxKey: running && mode !== "host" ? `/proc/${pid}/ns/net` : "",
    Ports: attached === undefined ? {} : networkSettingsPorts(exposedPorts(record), attached.ports),
    EndpointID: endpoint.EndpointID,
    Gateway: endpoint.Gateway,
    IPAddress: endpoint.IPAddress,
    IPPrefixLen: endpoint.IPPrefixLen,
    MacAddress: endpoint.MacAddress,
    Networks: { [mode]: endpoint },
  };
}

export function inspectContainer(ctx: EngineContext, record: ContainerRecord): ContainerInspect {
  const { state, engine } = observe(ctx, record);
  const paths = containerPaths(ctx, record.id);
  // NetworkAliases is shown where Docker shows aliases (the endpoint's), not in HostConfig
  const { NetworkAliases: _aliases, ...hostConfig } = record.hostConfig as HostConfig;
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
    NetworkSettings: networkSettings(record, state.Running, state.Pid),
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
