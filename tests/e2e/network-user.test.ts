/**
 * User-defined networks through the compiled binary: network create, ls,
 * inspect, rm and prune with Docker's errors; containers on one network
 * reach each other by name (/etc/hosts, rewritten in place as peers start
 * and stop), a container on another network or on the default bridge
 * cannot reach them; --subnet/--gateway honoured; nothing left after the
 * containers and the network are gone. Names start with t-un-, subnets are
 * 10.90.200.0/24 - 10.90.204.0/24 (this file's).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { engineEnv, until, type EngineEnv } from "../helpers/engine-env.ts";

let env: EngineEnv;

beforeAll(async () => {
  env = await engineEnv("usernet", { files: {} });
}, 60_000);

afterAll(async () => {
  if (env === undefined) return;
  env.containr(["rm", "-f", "t-un-a", "t-un-b", "t-un-c", "t-un-d", "t-un-web"]);
  for (const n of ["t-un-net", "t-un-other", "t-un-int", "t-un-p1", "t-un-p2", "t-un-pub"]) env.containr(["network", "rm", "-f", n]);
  await env.cleanUp();
});

function ok(args: string[]): string {
  const r = env.containr(args);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

function sleeper(name: string, network: string, flags: string[] = []): string {
  return ok(["run", "-d", "--name", name, "--network", network, ...flags, env.ref, "sleep", "300"]);
}

function inspectNet(name: string): { Id: string; IPAM: { Config: { Subnet: string; Gateway: string }[] }; Containers: Record<string, { Name: string; IPv4Address: string }>; Labels: Record<string, string>; Internal: boolean; Options: Record<string, string> } {
  return JSON.parse(ok(["network", "inspect", name]))[0];
}

const bridgeExists = (bridge: string) => existsSync(`/sys/class/net/${bridge}`);
const rulesTagged = (id: string) =>
  Bun.spawnSync(["nft", "list", "table", "ip", "containr"]).stdout.toString().split("\n").filter((l) => l.includes(id));

describe("network commands", () => {
  test("create, ls (filters, -q, --format), inspect, rm and Docker's errors", () => {
    const id = ok(["network", "create", "--subnet", "10.90.200.0/24", "--gateway", "10.90.200.254", "-l", "tier=front", "t-un-net"]);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const net = inspectNet("t-un-net");
    expect(net.Id).toBe(id);
    expect(net.IPAM.Config).toEqual([{ Subnet: "10.90.200.0/24", Gateway: "10.90.200.254" }]);
    expect(net.Labels).toEqual({ tier: "front" });
    expect(net.Internal).toBe(false);
    expect(inspectNet(id.slice(0, 10)).Id).toBe(id);

    const ls = ok(["network", "ls"]).split("\n");
    expect(ls[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    for (const name of ["bridge", "host", "none", "t-un-net"]) expect(ls.some((l) => l.split(/\s+/)[1] === name)).toBe(true);
    expect(ok(["network", "ls", "-q", "--filter", "label=tier=front"])).toBe(id.slice(0, 12));
    expect(ok(["network", "ls", "--filter", "name=t-un-n", "--format", "{{.Name}} {{.Driver}}"])).toBe("t-un-net bridge");
    expect(ok(["network", "ls", "--filter", "driver=null", "--format", "{{.Name}}"])).toBe("none");

    const dup = env.containr(["network", "create", "t-un-net"]);
    expect(dup.status).toBe(125);
    expect(dup.stderr).toContain("network with name t-un-net already exists");
    const overlap = env.containr(["network", "create", "--subnet", "10.90.200.128/25", "t-un-x"]);
    expect(overlap.status).toBe(125);
    expect(overlap.stderr).toContain("Pool overlaps with other one on this address space");
    const gw = env.containr(["network", "create", "--subnet", "10.90.203.0/24", "--gateway", "10.90.9.1", "t-un-x"]);
    expect(gw.status).toBe(125);
    expect(gw.stderr).toContain("no matching subnet for gateway 10.90.9.1");
    const driver = env.containr(["network", "create", "-d", "overlay", "t-un-x"]);
    expect(driver.status).toBe(125);
    expect(driver.stderr).toContain('network driver "overlay" is not supported');
    for (const builtin of ["bridge", "host", "none"]) {
      const rm = env.containr(["network", "rm", builtin]);
      expect(rm.status).toBe(125);
      expect(rm.stderr).toContain(`${builtin} is a pre-defined network and cannot be removed`);
    }
    const missing = env.containr(["network", "inspect", "t-un-missing"]);
    expect(missing.status).toBe(125);
    expect(missing.stderr).toContain("network t-un-missing not found");
    const connect = env.containr(["network", "connect", "t-un-net", "x"]);
    expect(connect.status).toBe(125);
    expect(connect.stderr).toContain("network connect is not supported");
    const alias = env.containr(["run", "--rm", "--network-alias", "x", env.ref, "true"]);
    expect(alias.status).toBe(125);
    expect(alias.stderr).toContain("network-scoped alias is supported only for containers in user defined networks");
    const run = env.containr(["run", "--rm", "--network", "t-un-missing", env.ref, "true"]);
    expect(run.status).toBe(125);
    expect(run.stderr).toContain("network t-un-missing not found");
  });

  test("prune removes unused networks only (label filter); an automatic subnet is a free /24 of 10.90.0.0/16", () => {
    // labelled: a prune never touches another test's networks
    ok(["network", "create", "-l", "t-un-prune", "--subnet", "10.90.201.0/24", "t-un-p1"]);
    ok(["network", "create", "--label", "t-un-prune=yes", "t-un-p2"]);
    const auto = inspectNet("t-un-p2").IPAM.Config[0];
    expect(auto?.Subnet).toMatch(/^10\.90\.\d+\.0\/24$/);
    expect(auto?.Subnet).not.toBe("10.90.200.0/24");
    expect(auto?.Subnet).not.toBe("10.90.201.0/24");
    sleeper("t-un-d", "t-un-p1");
    const pruned = ok(["network", "prune", "-f", "--filter", "label=t-un-prune"]);
    expect(pruned).toContain("Deleted Networks:");
    expect(pruned).toContain("t-un-p2");
    expect(pruned).not.toContain("t-un-p1");
    expect(pruned).not.toContain("t-un-net");
    const left = ok(["network", "ls", "--filter", "name=t-un-p", "--format", "{{.Name}}"]);
    expect(left).toBe("t-un-p1");
    ok(["rm", "-f", "t-un-d"]);
    ok(["network", "rm", "t-un-p1"]);
  });
});

describe("containers on user networks", () => {
  test("reach each other by name, hosts entries come and go, other networks cannot reach them, nothing left", async () => {
    const netId = inspectNet("t-un-net").Id;
    const bridge = inspectNet("t-un-net").Options["com.docker.network.bridge.name"] as string;
    ok(["network", "create", "--subnet", "10.90.202.0/24", "t-un-other"]);

    const a = sleeper("t-un-a", "t-un-net");
    const addrA = env.inspect("t-un-a", '{{(index .NetworkSettings.Networks "t-un-net").IPAddress}}');
    expect(addrA).toBe("10.90.200.1");
    expect(env.inspect("t-un-a", '{{(index .NetworkSettings.Networks "t-un-net").Gateway}}')).toBe("10.90.200.254");
    expect(ok(["exec", "t-un-a", "ip", "route"])).toContain("default via 10.90.200.254");

    const hostsInode = statSync(`${env.root}/containers/${a}/hosts`).ino;
    const b = sleeper("t-un-b", "t-un-net", ["--network-alias", "t-un-bee"]);
    expect(env.inspect("t-un-b", '{{(index .NetworkSettings.Networks "t-un-net").Aliases}}')).toBe("[t-un-bee]");
    const addrB = env.inspect("t-un-b", '{{(index .NetworkSettings.Networks "t-un-net").IPAddress}}');
    expect(addrB).toBe("10.90.200.2");
    expect(ok(["exec", "t-un-a", "cat", "/etc/hosts"])).toContain(`${addrB}\tt-un-b t-un-bee ${b.slice(0, 12)}`);
    expect(ok(["exec", "t-un-b", "cat", "/etc/hosts"])).toContain(`${addrA}\tt-un-a ${a.slice(0, 12)}`);
    // rewritten in place: the bind mount shows the new content
    expect(statSync(`${env.root}/containers/${a}/hosts`).ino).toBe(hostsInode);
    expect(ok(["exec", "t-un-a", "ping", "-c", "1", "-W", "2", "t-un-b"])).toContain("1 packets received");
    expect(ok(["exec", "t-un-b", "ping", "-c", "1", "-W", "2", a.slice(0, 12)])).toContain("1 packets received");
    expect(ok(["exec", "t-un-a", "ping", "-c", "1", "-W", "2", "t-un-bee"])).toContain("1 packets received");

    const containers = inspectNet("t-un-net").Containers;
    expect(containers[a]?.Name).toBe("t-un-a");
    expect(containers[b]?.IPv4Address).toBe(`${addrB}/24`);

    // isolation: another user network and the default bridge cannot reach them
    sleeper("t-un-c", "t-un-other");
    const fromOther = env.containr(["exec", "t-un-c", "ping", "-c", "1", "-W", "1", addrA]);
    expect(fromOther.status).not.toBe(0);
    expect(env.containr(["exec", "t-un-c", "cat", "/etc/hosts"]).stdout).not.toContain("t-un-a");
    const fromBridge = env.containr(["run", "--rm", env.ref, "ping", "-c", "1", "-W", "1", addrA]);
    expect(fromBridge.status).not.toBe(0);

    const inUse = env.containr(["network", "rm", "t-un-net"]);
    expect(inUse.status).toBe(125);
    expect(inUse.stderr).toContain(`error while removing network: network t-un-net id ${netId} has active endpoints`);

    // b stops: its line leaves a's /etc/hosts
    ok(["stop", "-t", "0", "t-un-b"]);
    await until("t-un-b gone from t-un-a's hosts", () => !env.containr(["exec", "t-un-a", "cat", "/etc/hosts"]).stdout.includes("t-un-b"), 5000);
    ok(["rm", "-f", "t-un-a", "t-un-b", "t-un-c"]);
    expect(bridgeExists(bridge)).toBe(true);
    ok(["network", "rm", "t-un-net", "t-un-other"]);
    expect(bridgeExists(bridge)).toBe(false);
    expect(rulesTagged(netId)).toEqual([]);
    expect(existsSync(`/run/containr/networks/${bridge}`)).toBe(false);
    expect(ok(["network", "ls", "--filter", "name=t-un-", "-q"])).toBe("");
  }, 60_000);

  test("-p publishes a port of a container on a user network (host port 39290, this file's)", async () => {
    ok(["network", "create", "--subnet", "10.90.204.0/24", "t-un-pub"]);
    ok(["run", "-d", "--name", "t-un-web", "--network", "t-un-pub", "-p", "127.0.0.1:39290:80", env.ref, "sh", "-c", "echo hi > /tmp/index.html && httpd -f -p 80 -h /tmp"]);
    const deadline = Date.now() + 5000;
    let body = "";
    while (Date.now() < deadline) {
      try {
        body = await (await fetch("http://127.0.0.1:39290/index.html", { signal: AbortSignal.timeout(2000) })).text();
        break;
      } catch {
        await Bun.sleep(50);
      }
    }
    expect(body).toBe("hi\n");
    ok(["rm", "-f", "t-un-web"]);
    ok(["network", "rm", "t-un-pub"]);
  });

  test("--internal: no default route, no way out of the subnet", () => {
    ok(["network", "create", "--internal", "--subnet", "10.90.203.0/24", "t-un-int"]);
    expect(inspectNet("t-un-int").Internal).toBe(true);
    const r = env.containr(["run", "--rm", "--network", "t-un-int", env.ref, "ip", "route"]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain("default");
    expect(r.stdout).toContain("10.90.203.0/24");
    ok(["network", "rm", "t-un-int"]);
  });
});
