import { describe, expect, test } from "bun:test";
import { ContainrError } from "../../src/diag/errors.ts";
import { formatIPv4, macForIPv4, parseIPv4, parseSubnet } from "../../src/linux/network/ipv4.ts";
import { baseRules, dnatRules } from "../../src/linux/network/nftables.ts";
import {
  bindingsToPublish,
  formatPortsColumn,
  networkSettingsPorts,
  parsePublish,
  toPortBindings,
  type PublishedPort,
} from "../../src/engine/network-ports.ts";

function usage(spec: string): string {
  try {
    parsePublish(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(ContainrError);
    expect((err as ContainrError).code).toBe("USAGE");
    return (err as ContainrError).message;
  }
  throw new Error(`expected ${spec} to be refused`);
}

describe("-p/--publish (Docker's nat.ParsePortSpec)", () => {
  test("the forms: CPORT, HOSTPORT:CPORT, IP:HOSTPORT:CPORT, IP::CPORT, /tcp and /udp", () => {
    expect(parsePublish("80")).toEqual([{ containerPort: 80, proto: "tcp", hostIp: "", hostPort: "" }]);
    expect(parsePublish("8080:80")).toEqual([{ containerPort: 80, proto: "tcp", hostIp: "", hostPort: "8080" }]);
    expect(parsePublish("127.0.0.1:8080:80/udp")).toEqual([{ containerPort: 80, proto: "udp", hostIp: "127.0.0.1", hostPort: "8080" }]);
    expect(parsePublish("127.0.0.1::80")).toEqual([{ containerPort: 80, proto: "tcp", hostIp: "127.0.0.1", hostPort: "" }]);
    // 0.0.0.0 is every address, as no address is
    expect(parsePublish("0.0.0.0:8080:80/TCP")).toEqual([{ containerPort: 80, proto: "tcp", hostIp: "", hostPort: "8080" }]);
  });

  test("ranges pair up; one container port takes a host range to pick from", () => {
    expect(parsePublish("8000-8001:80-81")).toEqual([
      { containerPort: 80, proto: "tcp", hostIp: "", hostPort: "8000" },
      { containerPort: 81, proto: "tcp", hostIp: "", hostPort: "8001" },
    ]);
    expect(parsePublish("80-81")).toEqual([
      { containerPort: 80, proto: "tcp", hostIp: "", hostPort: "" },
      { containerPort: 81, proto: "tcp", hostIp: "", hostPort: "" },
    ]);
    expect(parsePublish("8000-8010:80")).toEqual([{ containerPort: 80, proto: "tcp", hostIp: "", hostPort: "8000-8010" }]);
  });

  test("Docker's errors", () => {
    expect(usage("8000-8002:80-81")).toBe("invalid ranges specified for container and host Ports: 80-81 and 8000-8002");
    expect(usage("abc:80")).toBe("invalid hostPort: abc");
    expect(usage("80:abc")).toBe("invalid containerPort: abc");
    expect(usage("70000")).toBe("invalid containerPort: 70000");
    expect(usage("1.2.3:80:80")).toBe("invalid IP address: 1.2.3");
    expect(usage("8080:")).toBe("no port specified: 8080:<empty>");
    expect(usage("80/icmp")).toBe("invalid proto: icmp");
    expect(usage("80/sctp")).toContain("sctp is not supported");
    expect(usage("[::1]:80:80")).toContain("IPv6");
    expect(usage("1:2:3:4")).toBe("invalid port format for --publish: 1:2:3:4");
  });

  test("HostConfig.PortBindings, and -P adds the exposed ports -p left", () => {
    const bindings = toPortBindings([...parsePublish("8080:80"), ...parsePublish("127.0.0.1::80"), ...parsePublish("53/udp")]);
    expect(bindings).toEqual({
      "80/tcp": [{ HostIp: "", HostPort: "8080" }, { HostIp: "127.0.0.1", HostPort: "" }],
      "53/udp": [{ HostIp: "", HostPort: "" }],
    });
    expect(bindingsToPublish(bindings, true, ["80/tcp", "443/tcp"])).toEqual([
      { containerPort: 80, proto: "tcp", hostIp: "", hostPort: "8080" },
      { containerPort: 80, proto: "tcp", hostIp: "127.0.0.1", hostPort: "" },
      { containerPort: 53, proto: "udp", hostIp: "", hostPort: "" },
      { containerPort: 443, proto: "tcp", hostIp: "", hostPort: "" },
    ]);
    expect(bindingsToPublish(bindings, false, ["443/tcp"])).toHaveLength(3);
  });
});

describe("what ps, port and inspect show", () => {
  const published: PublishedPort[] = [
    { containerPort: 81, proto: "tcp", hostIp: "0.0.0.0", hostPort: 8001 },
    { containerPort: 80, proto: "tcp", hostIp: "0.0.0.0", hostPort: 8000 },
    { containerPort: 53, proto: "udp", hostIp: "127.0.0.1", hostPort: 5353 },
  ];

  test("ps's PORTS column: Docker's arrows, consecutive ports as ranges, then exposed ports", () => {
    expect(formatPortsColumn(["80/tcp", "81/tcp", "443/tcp"], published)).toBe(
      "0.0.0.0:8000-8001->80-81/tcp, 127.0.0.1:5353->53/udp, 443/tcp",
    );
    expect(formatPortsColumn([], [{ containerPort: 80, proto: "tcp", hostIp: "0.0.0.0", hostPort: 8080 }])).toBe("0.0.0.0:8080->80/tcp");
    expect(formatPortsColumn([], [])).toBe("");
  });

  test("NetworkSettings.Ports: every exposed port, null when not published", () => {
    expect(networkSettingsPorts(["80/tcp", "443/tcp"], published.slice(1, 2))).toEqual({
      "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8000" }],
      "443/tcp": null,
    });
  });
});

describe("addresses and rules", () => {
  test("IPv4 and Docker-style MACs (a fixed prefix and the address's bytes)", () => {
    expect(parseIPv4("10.89.0.2")).toBe(0x0a590002);
    expect(parseIPv4("10.89.0.256")).toBeUndefined();
    expect(formatIPv4(0x0a59ff01)).toBe("10.89.255.1");
    expect(macForIPv4(0x0a590002)).toBe("02:42:0a:59:00:02");
    expect(parseSubnet("10.89.0.0/16")).toEqual({ base: 0x0a590000, prefix: 16 });
  });

  test("nft: idempotent base chains and one DNAT rule per port, commented with the container's id", () => {
    const net = { table: "containr", bridge: "containr0", subnet: "10.89.0.0/16" };
    const base = baseRules(net);
    expect(base).toContain("add rule ip containr postrouting ip saddr 10.89.0.0/16 ip daddr != 10.89.0.0/16 masquerade");
    // every base chain is flushed before its rules go in: the transaction can run any number of times
    for (const chain of ["postrouting", "prerouting", "output"]) expect(base).toContain(`flush chain ip containr ${chain}`);
    expect(base).not.toContain("flush chain ip containr ports");
    // the marker that lets a start without published ports skip nft
    expect(base).toContain("add chain ip containr base-rules-v1");
    expect(
      dnatRules(net, "abc", [
        { hostIp: "0.0.0.0", hostPort: 8080, proto: "tcp", containerIp: "10.89.0.2", containerPort: 80 },
        { hostIp: "127.0.0.1", hostPort: 5353, proto: "udp", containerIp: "10.89.0.2", containerPort: 53 },
      ]),
    ).toEqual([
      'add rule ip containr ports tcp dport 8080 dnat to 10.89.0.2:80 comment "abc"',
      'add rule ip containr ports ip daddr 127.0.0.1 udp dport 5353 dnat to 10.89.0.2:53 comment "abc"',
    ]);
  });
});
