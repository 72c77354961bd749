/**
 * The bridge's allocations (src/engine/network-ipam.ts) in a directory of the
 * test's own: lowest free address, release and reuse, host-port conflicts as
 * Docker sees them (0.0.0.0 overlaps every address), random ports, a port a
 * host socket holds, and the clean-up of attachments whose container is gone.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainrError } from "../../src/diag/errors.ts";
import { parseSubnet } from "../../src/linux/network/ipv4.ts";
import { allocate, findAttachment, release, type AllocationRequest, type Attachment } from "../../src/engine/network-ipam.ts";
import type { PortBinding } from "../../src/engine/network-ports.ts";

const dir = mkdtempSync(join(tmpdir(), "containr-ipam-"));
const subnet = parseSubnet("10.77.0.0/29");
// network, gateway, broadcast
const pool = { subnet, reserved: [subnet.base, subnet.base + 1, subnet.base + 7] };
const discarded: string[] = [];
const gone = new Set<string>();

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function request(container: string, bindings: PortBinding[] = []): AllocationRequest {
  return {
    container,
    containerDir: `/containers/${container}`,
    hostInterface: `veth${container}`,
    bindings,
    isStale: (a: Attachment) => gone.has(a.container),
    discard: (a: Attachment) => void discarded.push(a.container),
  };
}

const tcp = (hostPort: string, hostIp = "", containerPort = 80): PortBinding => ({ containerPort, proto: "tcp", hostIp, hostPort });

function refused(fn: () => unknown): ContainrError {
  try {
    fn();
  } catch (err) {
    return err as ContainrError;
  }
  throw new Error("expected a refusal");
}

test("lowest free address, with its MAC; a release frees it for the next", () => {
  expect(allocate(dir, pool, request("a")).address).toBe("10.77.0.2");
  const b = allocate(dir, pool, request("b"));
  expect(b).toMatchObject({ address: "10.77.0.3", mac: "02:42:0a:4d:00:03", hostInterface: "vethb" });
  expect(findAttachment(dir, "b")).toEqual(b);
  expect(release(dir, "a", (x) => void discarded.push(`released ${x.container}`))?.address).toBe("10.77.0.2");
  expect(discarded).toEqual(["released a"]);
  expect(release(dir, "a", () => {})).toBeUndefined();
  expect(allocate(dir, pool, request("c")).address).toBe("10.77.0.2");
});

test("a container allocated again drops what it held first; a full pool is an error", () => {
  discarded.length = 0;
  expect(allocate(dir, pool, request("c")).address).toBe("10.77.0.2");
  expect(discarded).toEqual(["c"]);
  for (const name of ["d", "e", "f"]) allocate(dir, pool, request(name));
  const full = refused(() => allocate(dir, pool, request("g")));
  expect(full.code).toBe("NETWORK_FAILED");
  expect(full.message).toBe("no free address left in 10.77.0.0/29");
  // a container whose directory is gone is dropped (and its rules discarded) by the next allocation
  gone.add("d");
  discarded.length = 0;
  expect(allocate(dir, pool, request("g")).address).toBe("10.77.0.4");
  expect(discarded).toEqual(["d"]);
  for (const name of ["b", "c", "e", "f", "g"]) release(dir, name, () => {});
});

test("host ports: taken on an overlapping address is Docker's error and changes nothing; other addresses and protocols are free", () => {
  const web = allocate(dir, pool, request("web", [tcp("39500", "127.0.0.1")]));
  expect(web.ports).toEqual([{ containerPort: 80, proto: "tcp", hostIp: "127.0.0.1", hostPort: 39500 }]);
  const before = findAttachment(dir, "web");
  const clash = refused(() => allocate(dir, pool, request("other", [tcp("39500")])));
  expect(clash.code).toBe("PORT_ALLOCATED");
  expect(clash.message).toBe("Bind for 0.0.0.0:39500 failed: port is already allocated");
  expect(findAttachment(dir, "other")).toBeUndefined();
  expect(findAttachment(dir, "web")).toEqual(before);
  expect(refused(() => allocate(dir, pool, request("other", [tcp("39500", "127.0.0.1")]))).message).toBe(
    "Bind for 127.0.0.1:39500 failed: port is already allocated",
  );
  expect(allocate(dir, pool, request("other", [tcp("39500", "127.0.0.2"), { containerPort: 53, proto: "udp", hostIp: "", hostPort: "39500" }])).ports).toHaveLength(2);
  // one container's own two bindings conflict too
  expect(refused(() => allocate(dir, pool, request("twice", [tcp("39501"), tcp("39501", "", 81)]))).code).toBe("PORT_ALLOCATED");
  release(dir, "web", () => {});
  release(dir, "other", () => {});
});

test("random and ranged host ports; a port a host socket listens on is taken", () => {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 39510, socket: { data: () => {} } });
  try {
    expect(refused(() => allocate(dir, pool, request("busy", [tcp("39510")]))).code).toBe("PORT_ALLOCATED");
    // a range skips it
    expect(allocate(dir, pool, request("ranged", [tcp("39510-39512")])).ports[0]?.hostPort).toBe(39511);
  } finally {
    server.stop(true);
  }
  const random = allocate(dir, pool, request("random", [tcp(""), tcp("", "", 443)])).ports;
  const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  for (const p of random) {
    expect(p.hostPort).toBeGreaterThanOrEqual(low as number);
    expect(p.hostPort).toBeLessThanOrEqual(high as number);
  }
  expect(random[0]?.hostPort).not.toBe(random[1]?.hostPort);
  release(dir, "ranged", () => {});
  release(dir, "random", () => {});
});
