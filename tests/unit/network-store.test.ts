/** The network store: names, --subnet/--gateway checks, automatic subnets, look-ups by name, id and prefix. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toContainrError } from "../../src/diag/errors.ts";
import { bridgeName, NetworkStore } from "../../src/engine/network-store.ts";
import { parseSubnet, subnetSize } from "../../src/linux/network/ipv4.ts";

let dir: string;
let store: NetworkStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "containr-netstore-"));
  store = NetworkStore.open(dir);
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    const e = toContainrError(err);
    return { code: e.code, message: e.message };
  }
  throw new Error("expected a failure");
}

const create = (name: string, extra: { subnet?: string; gateway?: string } = {}) => store.create({ name, internal: false, labels: {}, ...extra });

test("an explicit subnet and gateway are kept; the default gateway is the subnet's first address", () => {
  expect(create("a", { subnet: "10.90.200.0/24", gateway: "10.90.200.254" })).toMatchObject({ subnet: "10.90.200.0/24", gateway: "10.90.200.254" });
  expect(create("b", { subnet: "10.90.201.0/24" })).toMatchObject({ gateway: "10.90.201.1" });
});

test("automatic subnets are /24s of 10.90.0.0/16 that overlap no other network", () => {
  create("explicit", { subnet: "10.90.0.0/23" });
  const taken = [parseSubnet("10.90.0.0/23")];
  for (const name of ["n1", "n2", "n3"]) {
    const s = parseSubnet(create(name).subnet);
    expect(s.prefix).toBe(24);
    expect(s.base >= parseSubnet("10.90.0.0/16").base && s.base < parseSubnet("10.91.0.0/16").base).toBe(true);
    for (const t of taken) expect(s.base + subnetSize(s) <= t.base || t.base + subnetSize(t) <= s.base).toBe(true);
    taken.push(s);
  }
});

test("Docker's errors: a taken name, a built-in name, an overlapping pool, a gateway outside, a bad name or subnet", () => {
  create("a", { subnet: "10.90.200.0/24" });
  expect(failure(() => create("a"))).toEqual({ code: "NETWORK_CONFLICT", message: "network with name a already exists" });
  expect(failure(() => create("bridge")).code).toBe("NETWORK_CONFLICT");
  expect(failure(() => create("b", { subnet: "10.90.200.0/25" })).message).toBe("invalid pool request: Pool overlaps with other one on this address space");
  expect(failure(() => create("b", { subnet: "10.89.5.0/24" })).code).toBe("NETWORK_CONFLICT");
  expect(failure(() => create("b", { subnet: "10.90.201.0/24", gateway: "10.90.202.1" })).message).toBe("no matching subnet for gateway 10.90.202.1");
  expect(failure(() => create("b", { subnet: "10.90.201.5/24" })).message).toContain("it is not a network address (10.90.201.0/24)");
  expect(failure(() => create("b", { gateway: "10.90.201.1" })).code).toBe("USAGE");
  expect(failure(() => create("-bad")).code).toBe("USAGE");
  expect(store.list().map((n) => n.name)).toEqual(["a"]);
});

test("look-ups by name, id and unique id prefix; the bridge's name fits IFNAMSIZ", () => {
  const a = create("a");
  expect(store.get("a").id).toBe(a.id);
  expect(store.get(a.id).name).toBe("a");
  expect(store.get(a.id.slice(0, 6)).name).toBe("a");
  expect(failure(() => store.get("nope"))).toEqual({ code: "NETWORK_NOT_FOUND", message: "network nope not found" });
  expect(bridgeName(a)).toBe(`ctr-${a.id.slice(0, 11)}`);
  expect(bridgeName(a).length).toBeLessThanOrEqual(15);
  store.delete(a);
  expect(store.find("a")).toBeUndefined();
});
