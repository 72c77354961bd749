/**
 * Bridge networking, the default network, through the compiled binary: a
 * container's eth0, address and route; containers reaching each other and
 * the host; -p from the host (127.0.0.1 and the host's address), random
 * host ports, Docker's error for a taken port; inspect, ps and port; and
 * nothing left (rule, address, veth) after rm -f, run --rm, a failed start
 * and a SIGKILLed monitor. Host ports 39100-39199 are this file's, and the
 * links ctrout0/ctrout1 (192.168.250.0/30) of the "outside" namespace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { engineEnv, processesMentioning, until, type EngineEnv } from "../helpers/engine-env.ts";

const STATE = "/run/containr/networks/containr0/attachments.json";
const PORT = 39100;

let env: EngineEnv;

beforeAll(async () => {
  env = await engineEnv("network", { files: { "www/index.html": "hello from the container\n" } }, { ExposedPorts: { "80/tcp": {}, "443/tcp": {} } });
}, 60_000);

afterAll(async () => {
  await env?.cleanUp();
});

/** A detached busybox httpd on port 80 serving /www, with extra run flags. */
function httpd(flags: string[]): string {
  const r = env.containr(["run", "-d", ...flags, env.ref, "busybox", "httpd", "-f", "-p", "80", "-h", "/www"]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

/** The rules of the container in `table ip containr` (by the comment that carries its id). */
function rulesOf(id: string): string[] {
  const r = Bun.spawnSync(["nft", "list", "table", "ip", "containr"]);
  return r.stdout.toString().split("\n").filter((line) => line.includes(id));
}

function attachments(): { container: string; address: string }[] {
  if (!existsSync(STATE)) return [];
  return (JSON.parse(readFileSync(STATE, "utf8")) as { attachments: { container: string; address: string }[] }).attachments;
}

const vethOf = (id: string) => `/sys/class/net/veth${id.slice(0, 11)}`;

/**
 * Nothing of the container's network is left: no rule, no address held, and
 * no veth once the kernel has destroyed the dead network namespace (it does
 * so asynchronously, within milliseconds).
 */
async function expectReleased(id: string): Promise<void> {
  expect(rulesOf(id)).toEqual([]);
  expect(attachments().map((a) => a.container)).not.toContain(id);
  await until(`${vethOf(id)} gone`, () => !existsSync(vethOf(id)), 5000);
}

async function get(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

/** get, retried while the connection is refused: httpd may not listen yet right after `run -d` returns. */
async function served(url: string): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await get(url);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await Bun.sleep(50);
    }
  }
}

/** An address of this host that is not loopback (where traffic "from outside" arrives). */
function hostAddress(): string {
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (name === "lo" || name === "containr0" || name.startsWith("veth")) continue;
    const v4 = list?.find((a) => a.family === "IPv4" && !a.internal);
    if (v4 !== undefined) return v4.address;
  }
  throw new Error("no non-loopback IPv4 address on this host");
}

describe("a container on the bridge", () => {
  test("has eth0 with an address in 10.89.0.0/16, a MAC from it, a default route, and its name on the address in /etc/hosts", () => {
    const r = env.containr(["run", "--rm", "--hostname", "web1", env.ref, "sh", "-c", "ip -4 addr show eth0; ip link show eth0; ip route; cat /etc/hosts"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const address = /inet (10\.89\.\d+\.\d+)\/16/.exec(r.stdout)?.[1];
    expect(address).toBeDefined();
    const [, , c, d] = (address as string).split(".").map(Number);
    const mac = `02:42:0a:59:${(c as number).toString(16).padStart(2, "0")}:${(d as number).toString(16).padStart(2, "0")}`;
    expect(r.stdout).toContain(`link/ether ${mac}`);
    expect(r.stdout).toContain("default via 10.89.0.1 dev eth0");
    expect(r.stdout).toContain(`${address}\tweb1`);
  });

  test("reaches another container by its address, and a server on the host's bridge address", async () => {
    const id = env.containr(["run", "-d", env.ref, "sleep", "60"]).stdout.trim();
    const address = env.inspect(id, "{{.NetworkSettings.IPAddress}}");
    expect(address).toMatch(/^10\.89\.\d+\.\d+$/);
    const ping = env.containr(["run", "--rm", env.ref, "ping", "-c", "1", "-W", "3", address]);
    expect(ping.stdout).toContain("1 packets received");
    expect(ping.status).toBe(0);

    // the host's end: a server on the gateway address (the test's event loop must run: spawn, not spawnSync)
    const server = Bun.listen({
      hostname: "10.89.0.1",
      port: PORT,
      socket: { open: (s) => void (s.write("hello from the host\n"), s.end()), data: () => {} },
    });
    try {
      const proc = Bun.spawn(env.argv(["run", "--rm", env.ref, "busybox", "nc", "-w", "3", "10.89.0.1", String(PORT)]), { stdout: "pipe", stderr: "pipe" });
      const [out, status] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      expect(out).toBe("hello from the host\n");
      expect(status).toBe(0);
    } finally {
      server.stop(true);
    }
    env.containr(["rm", "-f", id]);
    await expectReleased(id);
  }, 30_000);

  test("--network none and host do no bridge work", () => {
    const none = env.containr(["run", "--rm", "--network", "none", env.ref, "cat", "/proc/net/dev"]);
    expect(none.stdout).not.toContain("eth0");
    expect(none.stdout).toContain("lo:");
    const id = env.containr(["run", "-d", "--network", "host", env.ref, "sleep", "30"]).stdout.trim();
    expect(attachments().map((a) => a.container)).not.toContain(id);
    expect(env.inspect(id, "{{.NetworkSettings.IPAddress}}|{{json .NetworkSettings.Networks.host.IPAddress}}")).toBe('|""');
    env.containr(["rm", "-f", id]);
  });
});

describe("published ports", () => {
  test("-p 127.0.0.1:PORT:80 and -p PORT:80 answer from the host; inspect, ps and port show them", async () => {
    const id = httpd(["-p", `127.0.0.1:${PORT + 1}:80`, "-p", `${PORT + 2}:80`]);
    expect(await served(`http://127.0.0.1:${PORT + 1}/`)).toBe("hello from the container\n");
    expect(await served(`http://127.0.0.1:${PORT + 2}/`)).toBe("hello from the container\n");
    expect(await served(`http://${hostAddress()}:${PORT + 2}/`)).toBe("hello from the container\n");
    // 127.0.0.1 only: not on the host's other addresses
    await expect(get(`http://${hostAddress()}:${PORT + 1}/`)).rejects.toThrow();
    // through the host's address from another container (hairpin NAT) and from the container itself (hairpin mode)
    const request = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${hostAddress()} ${PORT + 2} | tail -n 1`;
    expect(env.containr(["run", "--rm", env.ref, "sh", "-c", request]).stdout).toBe("hello from the container\n");
    expect(env.containr(["exec", id, "sh", "-c", request]).stdout).toBe("hello from the container\n");

    expect(env.containr(["port", id]).stdout).toBe(`80/tcp -> 127.0.0.1:${PORT + 1}\n80/tcp -> 0.0.0.0:${PORT + 2}\n`);
    expect(env.containr(["port", id, "80"]).stdout).toBe(`127.0.0.1:${PORT + 1}\n0.0.0.0:${PORT + 2}\n`);
    const missing = env.containr(["port", id, "443/tcp"]);
    expect(missing.status).toBe(125);
    expect(missing.stderr).toContain("No public port '443/tcp' published for");
    expect(env.containr(["ps", "--filter", `id=${id}`, "--format", "{{.Ports}}"]).stdout).toBe(
      `0.0.0.0:${PORT + 2}->80/tcp, 127.0.0.1:${PORT + 1}->80/tcp, 443/tcp\n`,
    );
    const settings = JSON.parse(env.inspect(id, "{{json .NetworkSettings}}"));
    expect(settings.Ports).toEqual({
      "80/tcp": [
        { HostIp: "127.0.0.1", HostPort: String(PORT + 1) },
        { HostIp: "0.0.0.0", HostPort: String(PORT + 2) },
      ],
      "443/tcp": null,
    });
    expect(settings.Gateway).toBe("10.89.0.1");
    expect(settings.Networks.bridge.IPAddress).toBe(settings.IPAddress);
    expect(settings.Networks.bridge.MacAddress).toBe(settings.MacAddress);
    expect(settings.Networks.bridge.NetworkID).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(env.inspect(id, "{{json .HostConfig.PortBindings}}"))).toEqual({
      "80/tcp": [
        { HostIp: "127.0.0.1", HostPort: String(PORT + 1) },
        { HostIp: "", HostPort: String(PORT + 2) },
      ],
    });
    expect(rulesOf(id)).toHaveLength(2);
    expect(env.containr(["rm", "-f", id]).status).toBe(0);
    await expectReleased(id);
  }, 30_000);

  test("traffic from outside the host reaches a published port (prerouting's DNAT), and a container reaches outside (masquerade)", async () => {
    const id = httpd(["-p", `${PORT + 10}:80`]);
    // "outside": a network namespace of its own behind a veth pair, 192.168.250.2 -> the host's 192.168.250.1
    const outside = Bun.spawn(["unshare", "--net", "sleep", "30"]);
    const inside = (...args: string[]) => Bun.spawnSync(["nsenter", "-t", String(outside.pid), "-n", ...args]);
    try {
      const own = readlinkSync("/proc/self/ns/net");
      await until("the namespace", () => readlinkSync(`/proc/${outside.pid}/ns/net`) !== own);
      const host = (...args: string[]) => expect(Bun.spawnSync(["ip", ...args]).exitCode).toBe(0);
      host("link", "add", "ctrout0", "type", "veth", "peer", "name", "ctrout1");
      host("link", "set", "ctrout1", "netns", String(outside.pid));
      host("addr", "add", "192.168.250.1/30", "dev", "ctrout0");
      host("link", "set", "ctrout0", "up");
      expect(inside("ip", "addr", "add", "192.168.250.2/30", "dev", "ctrout1").exitCode).toBe(0);
      expect(inside("ip", "link", "set", "ctrout1", "up").exitCode).toBe(0);
      const request = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 192.168.250.1 ${PORT + 10} | tail -n 1`;
      let answer = "";
      await until("an answer from outside", () => {
        answer = inside("sh", "-c", request).stdout.toString();
        return answer !== "";
      });
      expect(answer).toBe("hello from the container\n");

      // the other way: a container reaches the outside, which has no route to 10.89.0.0/16 (masquerade)
      const listener = Bun.spawn(["nsenter", "-t", String(outside.pid), "-n", "busybox", "nc", "-l", "-p", String(PORT + 11)], {
        stdin: Buffer.from("hello from outside\n"),
        stdout: "ignore",
      });
      try {
        const port = `:${(PORT + 11).toString(16).toUpperCase()} `;
        await until("the outside listener", () => inside("cat", "/proc/net/tcp", "/proc/net/tcp6").stdout.toString().includes(port));
        const out = env.containr(["run", "--rm", env.ref, "busybox", "nc", "-w", "3", "192.168.250.2", String(PORT + 11)]);
        expect(out.stdout).toBe("hello from outside\n");
      } finally {
        listener.kill("SIGKILL");
      }
    } finally {
      outside.kill("SIGKILL");
      Bun.spawnSync(["ip", "link", "del", "ctrout0"]);
    }
    env.containr(["rm", "-f", id]);
    await expectReleased(id);
  }, 30_000);

  test("-p CPORT and -P get random host ports that `port` shows", async () => {
    const id = httpd(["-p", "80", "-P"]);
    const lines = env.containr(["port", id]).stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    const http = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(lines[0] as string);
    expect(lines[1]).toMatch(/^443\/tcp -> 0\.0\.0\.0:\d+$/);
    expect(http).not.toBeNull();
    expect(await served(`http://127.0.0.1:${http?.[1]}/`)).toBe("hello from the container\n");
    env.containr(["rm", "-f", id]);
    await expectReleased(id);
  }, 30_000);

  test("a taken host port is Docker's error, exit 125, and nothing is left", async () => {
    const first = httpd(["-p", `${PORT + 3}:80`]);
    const taken = env.containr(["run", "-d", "--name", "second", "-p", `127.0.0.1:${PORT + 3}:80`, env.ref, "sleep", "30"]);
    expect(taken.status).toBe(125);
    expect(taken.stderr).toContain(`Bind for 127.0.0.1:${PORT + 3} failed: port is already allocated`);
    const second = env.inspect("second", "{{.Id}}");
    expect(env.inspect("second", "{{.State.Status}}")).toBe("created");
    await expectReleased(second);
    env.containr(["rm", "-f", first, "second"]);

    // a host process listening on the port
    const server = Bun.listen({ hostname: "0.0.0.0", port: PORT + 4, socket: { data: () => {} } });
    try {
      const busy = env.containr(["run", "--rm", "-p", `${PORT + 4}:80`, env.ref, "true"]);
      expect(busy.status).toBe(125);
      expect(busy.stderr).toContain(`Bind for 0.0.0.0:${PORT + 4} failed: port is already allocated`);
    } finally {
      server.stop(true);
    }
  }, 30_000);
});

describe("nothing is left", () => {
  test("after run --rm", () => {
    const r = env.containr(["run", "--rm", "-p", `${PORT + 5}:80`, env.ref, "cat", "/sys/class/net/eth0/address"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^02:42:0a:59:/);
    // the run's id is gone with it: no rule with a port of this file is left
    const table = Bun.spawnSync(["nft", "list", "chain", "ip", "containr", "ports"]).stdout.toString();
    expect(table).not.toContain(`dport ${PORT + 5} `);
  });

  test("after stop: the address is free again and the rules are gone; start gets them back", async () => {
    const id = httpd(["-p", `${PORT + 6}:80`]);
    expect(env.containr(["stop", "-t", "1", id]).status).toBe(0);
    await expectReleased(id);
    expect(env.inspect(id, "{{.NetworkSettings.IPAddress}}")).toBe("");
    expect(env.containr(["start", id]).status).toBe(0);
    expect(await served(`http://127.0.0.1:${PORT + 6}/`)).toBe("hello from the container\n");
    // at once again: the same veth name, whatever the kernel has not destroyed yet of the last run
    for (let i = 0; i < 3; i++) expect(env.containr(["restart", "-t", "0", id]).status).toBe(0);
    expect(await served(`http://127.0.0.1:${PORT + 6}/`)).toBe("hello from the container\n");
    expect(rulesOf(id)).toHaveLength(1);
    env.containr(["rm", "-f", id]);
    await expectReleased(id);
  }, 30_000);

  test("after a start that fails: a missing command, and a failure once the veth and rules exist", async () => {
    const missing = env.containr(["run", "-d", "--name", "nocommand", "-p", `${PORT + 7}:80`, env.ref, "/no/such/command"]);
    expect(missing.status).toBe(127);
    await expectReleased(env.inspect("nocommand", "{{.Id}}"));

    const res = Bun.spawnSync([...env.argv(["run", "-d", "--name", "injected", "-p", `${PORT + 8}:80`, env.ref, "sleep", "30"])], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CONTAINR_FAILPOINTS: "engine.start.network" },
    });
    expect(res.exitCode).toBe(125);
    expect(res.stderr.toString()).toContain("injected failure at engine.start.network");
    const injected = env.inspect("injected", "{{.Id}}");
    expect(env.inspect("injected", "{{.State.Status}}")).toBe("created");
    await expectReleased(injected);
    env.containr(["rm", "-f", "nocommand", "injected"]);
  });

  test("after a SIGKILLed monitor and rm", async () => {
    const id = httpd(["-p", `${PORT + 9}:80`]);
    const monitor = processesMentioning(env.runroot).find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(id) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("containr-monitor"));
    expect(monitor).toBeDefined();
    process.kill(monitor as number, "SIGKILL");
    await until("monitor gone", () => !existsSync(`/proc/${monitor}`) || readFileSync(`/proc/${monitor}/stat`, "utf8").includes(") Z"));
    // the container still runs, and still holds its port
    expect(rulesOf(id)).toHaveLength(1);
    expect(env.containr(["rm", "-f", id]).status).toBe(0);
    await expectReleased(id);
  }, 30_000);
});

test("10 concurrent run -d get 10 distinct addresses (first runs when the bridge is unused: they create it together)", async () => {
  if (attachments().length === 0) {
    // nobody is on the bridge: take it and the table away, so these runs are first uses racing to make them
    Bun.spawnSync(["ip", "link", "del", "containr0"]);
    Bun.spawnSync(["nft", "delete", "table", "ip", "containr"]);
    expect(existsSync("/sys/class/net/containr0")).toBe(false);
  }
  const procs = Array.from({ length: 10 }, () => Bun.spawn(env.argv(["run", "-d", env.ref, "sleep", "60"]), { stdout: "pipe", stderr: "pipe" }));
  const ids = await Promise.all(
    procs.map(async (p) => {
      const [out, err, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect(err).toBe("");
      expect(status).toBe(0);
      return out.trim();
    }),
  );
  const addresses = ids.map((id) => env.inspect(id, "{{.NetworkSettings.IPAddress}}"));
  expect(new Set(addresses).size).toBe(10);
  for (const a of addresses) expect(a).toMatch(/^10\.89\.\d+\.\d+$/);
  // one set of base rules, whoever made them
  const table = Bun.spawnSync(["nft", "list", "table", "ip", "containr"]).stdout.toString();
  expect(table.match(/ip daddr != 10\.89\.0\.0\/16 masquerade/g)).toHaveLength(1);
  // and they work: the last container reaches the first
  expect(env.containr(["exec", ids[9] as string, "ping", "-c", "1", "-W", "3", addresses[0] as string]).status).toBe(0);
  expect(env.containr(["rm", "-f", ...ids]).status).toBe(0);
  for (const id of ids) await expectReleased(id);
}, 60_000);
