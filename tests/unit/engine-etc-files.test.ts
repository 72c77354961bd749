import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  containerResolvConf,
  etcFilesFor,
  hostnameFile,
  hostResolvConfForPrivateNetwork,
  hostsFile,
} from "../../src/engine/etc-files.ts";

const dir = mkdtempSync(join(tmpdir(), "containr-etc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("per-container /etc files", () => {
  test("/etc/hosts has Docker's localhost lines and the container's hostname", () => {
    const hosts = hostsFile("0123456789ab");
    const lines = hosts.trimEnd().split("\n");
    expect(lines[0]).toBe("127.0.0.1\tlocalhost");
    expect(lines).toContain("::1\tlocalhost ip6-localhost ip6-loopback");
    expect(lines).toContain("ff02::2\tip6-allrouters");
    expect(lines.at(-1)).toBe("127.0.0.1\t0123456789ab");
    // a bridge container's address, Docker's "IP\tHOSTNAME"
    expect(hostsFile("0123456789ab", "10.89.0.7").split("\n").at(-2)).toBe("10.89.0.7\t0123456789ab");
    expect(hosts.endsWith("\n")).toBe(true);
  });

  test("/etc/hostname is the hostname and a newline", () => {
    expect(hostnameFile("web")).toBe("web\n");
  });

  test("resolv.conf drops loopback and IPv6 nameservers and keeps search and options", () => {
    const host = "# comment\nsearch example.org\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\nnameserver 2001:db8::1\noptions ndots:2\n";
    expect(containerResolvConf(host)).toBe("# comment\nsearch example.org\nnameserver 10.0.0.2\noptions ndots:2\n");
  });

  test("resolv.conf falls back to 8.8.8.8 and 8.8.4.4 when only loopback servers remain (or no file)", () => {
    expect(containerResolvConf("nameserver 127.0.0.1\nsearch lan\n")).toBe("search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    expect(containerResolvConf(undefined)).toBe("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  });

  test("systemd-resolved's stub is replaced by its upstream list", () => {
    const stub = join(dir, "stub.conf");
    const upstream = join(dir, "upstream.conf");
    writeFileSync(stub, "nameserver 127.0.0.53\noptions edns0\n");
    writeFileSync(upstream, "nameserver 192.0.2.1\n");
    expect(hostResolvConfForPrivateNetwork(stub, upstream)).toBe("nameserver 192.0.2.1\n");
    expect(hostResolvConfForPrivateNetwork(stub, join(dir, "missing"))).toBe("nameserver 127.0.0.53\noptions edns0\n");
    expect(hostResolvConfForPrivateNetwork(join(dir, "none"), upstream)).toBeUndefined();
  });

  test("host network copies the host's files; a private one generates them", () => {
    const hostFiles = { hosts: "127.0.0.1 localhost myhost\n", resolvConf: "nameserver 127.0.0.53\n", privateResolvConf: "nameserver 127.0.0.53\n" };
    const shared = etcFilesFor("host", "myhost", hostFiles);
    expect(shared.hosts).toBe(hostFiles.hosts);
    expect(shared.resolvConf).toBe("nameserver 127.0.0.53\n");
    expect(shared.hostname).toBe("myhost\n");
    const own = etcFilesFor("none", "abc", hostFiles);
    expect(own.hosts).toContain("127.0.0.1\tabc");
    expect(etcFilesFor("bridge", "abc", hostFiles)).toEqual(own);
    expect(own.resolvConf).toBe("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  });
});
