/**
 * The host's bound sockets, from /proc/net/{tcp,udp}{,6} (the process runs
 * in the host's network namespace): a published port that a host process
 * already listens on would be silently shadowed by the DNAT rule, so it is
 * refused as Docker's userland proxy would fail to bind it.
 */
import { readFileSync } from "node:fs";
import { endianness } from "node:os";

export type Protocol = "tcp" | "udp";

/** TCP_LISTEN in /proc/net/tcp's st column. */
const TCP_LISTEN = "0A";

function hexToIPv4(hex: string): string {
  // /proc/net/tcp prints the address (network order in memory) as a native-endian u32
  const n = parseInt(hex, 16);
  const shifts = endianness() === "LE" ? [0, 8, 16, 24] : [24, 16, 8, 0];
  return shifts.map((shift) => (n >>> shift) & 255).join(".");
}

/** Addresses ("0.0.0.0", "127.0.0.1", "::") bound to port for proto, listening ones only for TCP. */
export function boundAddresses(proto: Protocol, port: number): string[] {
  const out: string[] = [];
  for (const family of ["", "6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${proto}${family}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local === undefined) continue;
      if (proto === "tcp" && fields[3] !== TCP_LISTEN) continue;
      const [addr, portHex] = local.split(":");
      if (addr === undefined || portHex === undefined || parseInt(portHex, 16) !== port) continue;
      if (family === "6") out.push(/^0+$/.test(addr) ? "::" : addr);
      else out.push(hexToIPv4(addr));
    }
  }
  return out;
}

/** Does a socket on the host hold hostIp:port ("0.0.0.0" meaning every address)? */
export function portBoundOnHost(proto: Protocol, hostIp: string, port: number): boolean {
  return boundAddresses(proto, port).some((a) => a === "0.0.0.0" || a === "::" || hostIp === "0.0.0.0" || a === hostIp);
}

/** The kernel's ephemeral port range (net.ipv4.ip_local_port_range), where random host ports come from. */
export function ephemeralPortRange(path = "/proc/sys/net/ipv4/ip_local_port_range"): [number, number] {
  try {
    const [low, high] = readFileSync(path, "utf8").trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return [low, high];
  } catch {
    // no procfs: Linux's default
  }
  return [32768, 60999];
}
