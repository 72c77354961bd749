/**
 * Pure parts of exec and attach: the process exec runs (the container's,
 * with Docker's exec changes) and the detach-key scanner of attach/run -it.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DetachKeys } from "../../src/cli/container/common.ts";
import { execProcessOf, type ExecRequest } from "../../src/engine/exec.ts";
import type { Process } from "../../src/oci/spec.ts";

const rootfs = mkdtempSync(join(tmpdir(), "containr-unit-exec-"));
mkdirSync(join(rootfs, "etc"));
writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
writeFileSync(join(rootfs, "etc/group"), "root:x:0:\nalice:x:1000:\nstaff:x:50:alice\n");
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

const base: Process = {
  terminal: false,
  user: { uid: 0, gid: 0, additionalGids: [0] },
  args: ["sleep", "1000"],
  env: ["PATH=/bin", "HOSTNAME=abc", "HOME=/root", "KEEP=1"],
  cwd: "/srv",
  capabilities: { bounding: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_CHOWN", "CAP_KILL"], permitted: ["CAP_CHOWN", "CAP_KILL"] },
  noNewPrivileges: true,
};
const request = (changes: Partial<ExecRequest>): ExecRequest => ({ command: ["id"], interactive: false, tty: false, detach: false, env: [], privileged: false, ...changes });

test("exec keeps the container's process and changes only what exec asks", () => {
  const proc = execProcessOf(base, rootfs, request({ env: ["KEEP=2", "NEW=x"] }));
  expect(proc.args).toEqual(["id"]);
  expect(proc.cwd).toBe("/srv");
  expect(proc.env).toEqual(["PATH=/bin", "HOSTNAME=abc", "HOME=/root", "KEEP=2", "NEW=x"]);
  expect(proc.noNewPrivileges).toBe(true);
  expect(proc.capabilities?.effective).toEqual(["CAP_CHOWN", "CAP_KILL"]);
  expect(base.args).toEqual(["sleep", "1000"]);
});

test("exec -u NAME resolves in the container's files, sets HOME and leaves a non-root user only the bounding set", () => {
  const proc = execProcessOf(base, rootfs, request({ user: "alice", workdir: "/tmp" }));
  expect(proc.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 50] });
  expect(proc.env).toContain("HOME=/home/alice");
  expect(proc.capabilities).toEqual({ bounding: ["CAP_CHOWN", "CAP_KILL"] });
  expect(proc.cwd).toBe("/tmp");
  expect(() => execProcessOf(base, rootfs, request({ user: "bob" }))).toThrow("unable to find user bob");
  expect(() => execProcessOf(base, rootfs, request({ workdir: "relative" }))).toThrow("needs to be an absolute path");
});

test("exec -t adds TERM unless the container's env has one", () => {
  expect(execProcessOf(base, rootfs, request({ tty: true })).env).toContain("TERM=xterm");
  expect(execProcessOf(base, rootfs, request({ tty: true })).terminal).toBe(true);
  const withTerm = { ...base, env: [...(base.env ?? []), "TERM=vt100"] };
  expect(execProcessOf(withTerm, rootfs, request({ tty: true })).env?.filter((e) => e.startsWith("TERM="))).toEqual(["TERM=vt100"]);
});

test("the detach keys: ctrl-p ctrl-q detaches without sending them; a broken sequence is sent after all", () => {
  const keys = new DetachKeys();
  expect(keys.scan(Uint8Array.of(0x61, 0x10))).toEqual({ forward: Uint8Array.of(0x61), detach: false });
  expect(keys.scan(Uint8Array.of(0x11))).toEqual({ forward: Uint8Array.of(), detach: true });
  const broken = new DetachKeys();
  expect(broken.scan(Uint8Array.of(0x10, 0x62))).toEqual({ forward: Uint8Array.of(0x10, 0x62), detach: false });
  expect(broken.scan(Uint8Array.of(0x10, 0x10, 0x11))).toEqual({ forward: Uint8Array.of(0x10), detach: true });
});
