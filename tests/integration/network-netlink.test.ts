/**
 * The netlink layer alone (src/native/netlink.ts over csrc/lib/netlink-*.c)
 * against the real kernel: a bridge of the test's own, a veth pair whose
 * peer is created inside another network namespace (held by an `unshare
 * --net` process), and the interfaces configured in there from a thread,
 * while this process stays in the host's namespace. Also its errors.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readFileSync, readlinkSync } from "node:fs";
import { ContainrError } from "../../src/diag/errors.ts";
import { configureContainerInterface, createVeth, deleteLink, ensureBridge, nftChainExists, nftTaggedRuleHandles } from "../../src/native/netlink.ts";

const BRIDGE = "ctrtest0";
const VETH = "vethctrtest0";
let holder: ReturnType<typeof Bun.spawn>;

function inNamespace(...args: string[]): string {
  const r = Bun.spawnSync(["nsenter", "-t", String(holder.pid), "-n", ...args]);
  return r.stdout.toString();
}

beforeAll(async () => {
  holder = Bun.spawn(["unshare", "--net", "sleep", "60"]);
  // wait until the process is in its own namespace
  const own = readlinkSync("/proc/self/ns/net");
  for (let i = 0; i < 100 && readlinkSync(`/proc/${holder.pid}/ns/net`) === own; i++) await Bun.sleep(10);
});

afterAll(() => {
  Bun.spawnSync(["nft", "delete", "table", "ip", "containr_test"]);
  holder.kill("SIGKILL");
  deleteLink(VETH);
  deleteLink(BRIDGE);
});

test("a bridge with its address, created once: a second call finds it", () => {
  ensureBridge(BRIDGE, "10.250.0.1", 24);
  ensureBridge(BRIDGE, "10.250.0.1", 24);
  const show = Bun.spawnSync(["ip", "-4", "addr", "show", BRIDGE]).stdout.toString();
  expect(show).toContain("inet 10.250.0.1/24");
  expect(show.match(/inet /g)).toHaveLength(1);
  expect(show).toContain("state");
  expect(existsSync(`/sys/class/net/${BRIDGE}/bridge`)).toBe(true);
});

test("a veth pair into another namespace, configured there; this process's namespace is untouched", () => {
  const before = readlinkSync("/proc/self/task/" + process.pid + "/ns/net");
  const netns = openSync(`/proc/${holder.pid}/ns/net`, "r");
  try {
    createVeth({ hostName: VETH, bridge: BRIDGE, netnsFd: netns, peerName: "eth0", peerMac: "02:42:0a:fa:00:02" });
    configureContainerInterface(netns, "eth0", "10.250.0.2", 24, "10.250.0.1");
  } finally {
    closeSync(netns);
  }
  expect(readlinkSync("/proc/self/task/" + process.pid + "/ns/net")).toBe(before);
  expect(readlinkSync(`/sys/class/net/${VETH}/master`)).toEndWith(`/${BRIDGE}`);
  expect(readFileSync(`/sys/class/net/${VETH}/brport/hairpin_mode`, "utf8").trim()).toBe("1");
  const addr = inNamespace("ip", "addr");
  expect(addr).toContain("link/ether 02:42:0a:fa:00:02");
  expect(addr).toContain("inet 10.250.0.2/24");
  expect(addr).toMatch(/lo: <LOOPBACK,UP/);
  expect(inNamespace("ip", "route")).toContain("default via 10.250.0.1 dev eth0");
  // the kernel answers through the veth and the bridge
  expect(Bun.spawnSync(["busybox", "ping", "-c", "1", "-W", "2", "10.250.0.2"]).exitCode).toBe(0);
});

test("errors name the step and carry the errno; a missing link is not an error to delete", () => {
  const netns = openSync(`/proc/${holder.pid}/ns/net`, "r");
  try {
    let error: unknown;
    try {
      createVeth({ hostName: VETH, bridge: BRIDGE, netnsFd: netns, peerName: "eth1", peerMac: "02:42:0a:fa:00:03" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ContainrError);
    expect((error as ContainrError).code).toBe("NETWORK_FAILED");
    expect((error as ContainrError).message).toStartWith(`create veth ${VETH} (peer eth1 in the container)`);
    expect((error as ContainrError).message).toContain("EEXIST");
    expect(() => configureContainerInterface(netns, "nosuch0", "10.250.0.9", 24, "10.250.0.1")).toThrow("find link nosuch0");
  } finally {
    closeSync(netns);
  }
  expect(() => createVeth({ hostName: "vethctrtest1", bridge: "nosuchbridge0", netnsFd: 0, peerName: "eth0", peerMac: "02:42:00:00:00:01" })).toThrow(
    "find link nosuchbridge0",
  );
  expect(deleteLink(VETH)).toBe(true);
  expect(deleteLink(VETH)).toBe(false);
});

test("an nf_tables chain look-up over netlink: present, absent, no table", () => {
  expect(nftChainExists("containr_test", "marker")).toBe(false);
  expect(Bun.spawnSync(["nft", "add table ip containr_test; add chain ip containr_test marker"]).exitCode).toBe(0);
  expect(nftChainExists("containr_test", "marker")).toBe(true);
  expect(nftChainExists("containr_test", "other")).toBe(false);
  // the same name in another family is another table
  expect(Bun.spawnSync(["nft", "add table inet containr_test2; add chain inet containr_test2 marker"]).exitCode).toBe(0);
  expect(nftChainExists("containr_test2", "marker")).toBe(false);
  Bun.spawnSync(["nft", "delete", "table", "inet", "containr_test2"]);
});

test("the handles of a chain's rules that carry a comment, over netlink", () => {
  expect(nftTaggedRuleHandles("containr_test", "ports", "abc")).toEqual([]);
  const script = [
    "add table ip containr_test",
    "add chain ip containr_test ports",
    'add rule ip containr_test ports tcp dport 1 accept comment "abc"',
    'add rule ip containr_test ports tcp dport 2 accept comment "abcd"',
    "add rule ip containr_test ports tcp dport 3 accept",
    'add rule ip containr_test ports udp dport 4 accept comment "abc"',
  ].join("\n");
  expect(Bun.spawnSync(["nft", "-f", "-"], { stdin: Buffer.from(script) }).exitCode).toBe(0);
  const listed = Bun.spawnSync(["nft", "-a", "list", "chain", "ip", "containr_test", "ports"]).stdout.toString();
  const expected = [...listed.matchAll(/comment "abc" # handle (\d+)/g)].map((m) => Number(m[1]));
  expect(expected).toHaveLength(2);
  expect(nftTaggedRuleHandles("containr_test", "ports", "abc")).toEqual(expected);
  expect(nftTaggedRuleHandles("containr_test", "ports", "nobody")).toEqual([]);
  expect(nftTaggedRuleHandles("containr_test", "nochain", "abc")).toEqual([]);
});
