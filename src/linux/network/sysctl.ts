/**
 * The host's network sysctls bridge networking needs: IPv4 forwarding (a
 * container's traffic is routed through the host), and route_localnet on
 * the bridge, so that a connection from the host to 127.0.0.1:PORT can be
 * DNATed to a container (the kernel otherwise drops a packet with a
 * loopback source that leaves through a non-loopback interface), as
 * netavark does.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fromErrno } from "../../diag/errors.ts";

/** Write value unless it is already there (a write costs more than a read, and may be refused in a container). */
export function ensureSysctl(path: string, value: string): void {
  try {
    if (readFileSync(path, "utf8").trim() === value) return;
    writeFileSync(path, value);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw fromErrno(Math.abs(e.errno ?? 5), `set ${path.replace("/proc/sys/", "").replaceAll("/", ".")} to ${value}`, "NETWORK_FAILED");
  }
}

export function enableIPv4Forwarding(): void {
  ensureSysctl("/proc/sys/net/ipv4/ip_forward", "1");
}

export function enableRouteLocalnet(iface: string): void {
  ensureSysctl(`/proc/sys/net/ipv4/conf/${iface}/route_localnet`, "1");
}
