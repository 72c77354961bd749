/**
 * `version`: Docker's shape (the Engine API's /version). containr has no
 * daemon, so its "server" is this same executable. Kept apart from
 * system-info.ts so that `version` loads none of the engine's stores.
 */
import { arch, release } from "node:os";
import pkg from "../../package.json" with { type: "json" };

/** Go's GOARCH names, which Docker reports. */
const GO_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

export interface VersionInfo {
  Client: ComponentVersion;
  Server: ComponentVersion & { KernelVersion: string; Components: { Name: string; Version: string }[] };
}

interface ComponentVersion {
  Platform: { Name: string };
  Version: string;
  ApiVersion: string;
  BunVersion: string;
  Os: string;
  Arch: string;
}

/** The Engine API version whose shapes containr's output follows. */
const API_VERSION = "1.43";

export function versionInfo(): VersionInfo {
  const component: ComponentVersion = {
    Platform: { Name: "containr" },
    Version: pkg.version,
    ApiVersion: API_VERSION,
    BunVersion: Bun.version,
    Os: "linux",
    Arch: GO_ARCH[arch()] ?? arch(),
  };
  return {
    Client: component,
    Server: {
      ...component,
      KernelVersion: release(),
      Components: [
        { Name: "Engine", Version: pkg.version },
        { Name: "containr runtime", Version: pkg.version },
      ],
    },
  };
}
