/** IPv4 addresses as numbers (host order, unsigned), and the MAC Docker derives from one. */

export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return undefined;
  const bytes = m.slice(1).map(Number);
  if (bytes.some((b) => b > 255)) return undefined;
  return bytes.reduce((n, b) => n * 256 + b, 0);
}

export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

export interface Subnet {
  /** the network address, host order */
  base: number;
  prefix: number;
}

export function parseSubnet(cidr: string): Subnet {
  const [address, bits] = cidr.split("/");
  const base = parseIPv4(address ?? "");
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) throw new Error(`invalid subnet ${cidr}`);
  return { base, prefix };
}

export function subnetSize(subnet: Subnet): number {
  return 2 ** (32 - subnet.prefix);
}

export function inSubnet(subnet: Subnet, address: number): boolean {
  return address >= subnet.base && address < subnet.base + subnetSize(subnet);
}

/**
 * A locally administered unicast MAC made of a fixed prefix and the four
 * bytes of the address, as Docker's 02:42:ac:11:00:02 for 172.17.0.2: unique
 * while the address is, and stable for a given address.
 */
export function macForIPv4(address: number): string {
  return ["02", "42", ...[24, 16, 8, 0].map((shift) => (Math.floor(address / 2 ** shift) % 256).toString(16).padStart(2, "0"))].join(":");
}
