/**
 * The runtime's checks and encodings of the security half of a spec, pure:
 * hooks, the state JSON hooks read, devices and their cgroup rules, user
 * namespace maps and the sub-id hint, the plan's new sections.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainrError } from "../../src/diag/errors.ts";
import { checkHooks, hookStateJson } from "../../src/runtime/hooks.ts";
import { plannedDevices, processSecurity, withDeviceRules } from "../../src/runtime/security.ts";
import { checkSubIds, idMaps } from "../../src/runtime/userns.ts";

function errorOf(fn: () => unknown): ContainrError {
  try {
    fn();
  } catch (err) {
    return err as ContainrError;
  }
  throw new Error("expected an error");
}

describe("hooks", () => {
  test("defaults: argv[0] is the path, no env, no timeout; every kind present", () => {
    const hooks = checkHooks({ poststop: [{ path: "/bin/true" }] });
    expect(hooks.poststop).toEqual([{ path: "/bin/true", args: ["/bin/true"], env: [], timeout: 0 }]);
    expect(hooks.prestart).toEqual([]);
    expect(hooks.startContainer).toEqual([]);
  });

  test("bad hooks name their field", () => {
    expect(errorOf(() => checkHooks({ prestart: [{ path: "relative" }] })).message).toContain("hooks.prestart[0].path");
    expect(errorOf(() => checkHooks({ createRuntime: [{ path: "/x", timeout: 0 }] })).message).toContain("hooks.createRuntime[0].timeout");
    expect(errorOf(() => checkHooks({ poststart: [{ path: "/x", env: [1 as never] }] })).message).toContain("hooks.poststart[0].env");
  });

  test("the state JSON ends with the pid, so that the C init can append its own", () => {
    const base = { ociVersion: "1.2.0", id: "c1", status: "created" as const, bundle: "/b", annotations: { a: "b" } };
    const open = hookStateJson(base);
    expect(open.endsWith('"pid":')).toBe(true);
    expect(JSON.parse(`${open}1}`)).toEqual({ ...base, pid: 1 });
    expect(JSON.parse(hookStateJson(base, 42))).toEqual({ ...base, pid: 42 });
  });
});

describe("devices", () => {
  test("types, modes and defaults", () => {
    const [c, p] = plannedDevices([
      { path: "/dev/fuse", type: "c", major: 10, minor: 229 },
      { path: "/dev/pipe", type: "p" },
    ]);
    expect(c).toEqual({ path: "/dev/fuse", mode: 0o020666, major: 10, minor: 229, uid: 0, gid: 0 });
    expect(p!.mode).toBe(0o010666);
    expect(errorOf(() => plannedDevices([{ path: "/dev/x", type: "z" as never }])).message).toContain("linux.devices[0].type");
    expect(errorOf(() => plannedDevices([{ path: "/dev/../etc/x", type: "c", major: 1, minor: 1 }])).message).toContain("linux.devices[0].path");
  });

  test("cgroup rules: the spec's, then each device node, then runc's defaults; none without spec rules", () => {
    const devices = plannedDevices([{ path: "/dev/fuse", type: "c", major: 10, minor: 229 }, { path: "/dev/pipe", type: "p" }]);
    expect(withDeviceRules(undefined, devices)).toBeUndefined();
    const rules = withDeviceRules({ devices: [{ allow: false, access: "rwm" }] }, devices)!.devices!;
    expect(rules[0]).toEqual({ allow: false, access: "rwm" });
    expect(rules[1]).toEqual({ allow: true, type: "c", major: 10, minor: 229, access: "rwm" });
    expect(rules).toContainEqual({ allow: true, type: "c", major: 5, minor: 2, access: "rwm" });
    expect(rules).toContainEqual({ allow: true, type: "c", major: 136, access: "rwm" });
    expect(rules.filter((r) => r.major === 0 && r.type === "c" && r.minor === 0)).toEqual([]);
  });
});

describe("process security", () => {
  test("terminal size and capability sets", () => {
    const sec = processSecurity({ cwd: "/", user: { uid: 0, gid: 0 }, terminal: true, consoleSize: { height: 24, width: 80 }, capabilities: { bounding: ["CAP_KILL"] } }, undefined);
    expect(sec.terminal).toEqual({ rows: 24, cols: 80 });
    expect(sec.caps?.bounding).toBe(1n << 5n);
    expect(sec.caps?.effective).toBe(0n);
    expect(processSecurity({ cwd: "/", user: { uid: 0, gid: 0 } }, undefined).caps).toBeUndefined();
  });

  test("seccomp notify needs an agent, which is refused", () => {
    const profile = { defaultAction: "SCMP_ACT_ALLOW" as const, syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" as const }] };
    expect(errorOf(() => processSecurity({ cwd: "/", user: { uid: 0, gid: 0 } }, profile)).message).toContain("SCMP_ACT_NOTIFY");
    expect(errorOf(() => processSecurity({ cwd: "/", user: { uid: 0, gid: 0 } }, { ...profile, listenerPath: "/run/agent.sock" })).message).toContain("linux.seccomp.listenerPath");
  });
});

describe("user namespaces", () => {
  test("mappings need a user namespace, and a user namespace needs mappings", () => {
    expect(idMaps({}, false)).toBeUndefined();
    expect(errorOf(() => idMaps({ uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }, false)).message).toContain("need a new user namespace");
    expect(errorOf(() => idMaps({}, true)).message).toContain("linux.uidMappings");
    expect(errorOf(() => idMaps({ uidMappings: [{ containerID: 0, hostID: 1, size: 0 }], gidMappings: [] }, true)).message).toContain("linux.uidMappings[0].size");
  });

  test("a user without sub-ids gets the lines to add, after every existing range", () => {
    const dir = mkdtempSync(join(tmpdir(), "containr-subid-"));
    const subuid = join(dir, "subuid");
    const subgid = join(dir, "subgid");
    writeFileSync(subuid, "alice:100000:65536\nbob:165536:65536\n");
    writeFileSync(subgid, "alice:100000:65536\n");
    const err = errorOf(() => checkSubIds(987654, { subuid, subgid }));
    expect(err.code).toBe("PERMISSION_DENIED");
    expect(err.message).toContain(`no subordinate ids in ${subuid} and ${subgid}`);
    expect(err.hint).toContain("987654:262144:65536");
  });
});
