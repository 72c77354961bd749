/**
 * User namespaces: linux.uidMappings/gidMappings checked, and written for a
 * process that waits in its new user namespace (CHILD_READY_FOR_MAPS). Root
 * writes /proc/PID/{uid_map,gid_map} itself; another user goes through the
 * setuid newuidmap/newgidmap, which check /etc/subuid and /etc/subgid, unless
 * the mapping is just the caller's own uid and gid, which the kernel allows
 * after setgroups is denied (runc does the same).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { ContainrError } from "../diag/errors.ts";
import type { IdMapping, Linux } from "../oci/spec.ts";
import { invalidField } from "./bundle.ts";

export interface IdMaps {
  uid: IdMapping[];
  gid: IdMapping[];
}

const isUint32 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

function mappings(list: unknown, field: string): IdMapping[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw invalidField(field, "must be an array of {containerID, hostID, size}");
  return list.map((m, i) => {
    for (const key of ["containerID", "hostID", "size"] as const) {
      if (!isUint32(m?.[key])) throw invalidField(`${field}[${i}].${key}`, "must be a non-negative integer");
    }
    if (m.size === 0) throw invalidField(`${field}[${i}].size`, "must be at least 1");
    return { containerID: m.containerID, hostID: m.hostID, size: m.size };
  });
}

/** The maps of a new user namespace; undefined when the container creates none. */
export function idMaps(linux: Linux, newUserNamespace: boolean): IdMaps | undefined {
  const uid = mappings(linux.uidMappings, "linux.uidMappings");
  const gid = mappings(linux.gidMappings, "linux.gidMappings");
  if (!newUserNamespace) {
    if (uid.length || gid.length) throw invalidField("linux.uidMappings", "mappings need a new user namespace", 'add {"type": "user"} to linux.namespaces');
    return undefined;
  }
  if (uid.length === 0) throw invalidField("linux.uidMappings", "a new user namespace needs uid mappings");
  if (gid.length === 0) throw invalidField("linux.gidMappings", "a new user namespace needs gid mappings");
  return { uid, gid };
}

const mapText = (list: IdMapping[]) => list.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");

/** The caller's user name (for /etc/subuid), or its uid as text. */
function callerName(uid: number): string {
  try {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.split(":")[2] === String(uid));
    return line?.split(":")[0] || String(uid);
  } catch {
    return String(uid);
  }
}

/** The ranges /etc/subuid (or subgid) gives a user: "name:start:count" or "uid:start:count" lines. */
function subIdRanges(file: string, name: string, uid: number): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => {
      const owner = l.split(":")[0];
      return owner === name || owner === String(uid);
    });
}

/** A start for a new 65536-id range after every range already in the files (so that the hint's lines are valid). */
function freeRangeStart(files: string[]): number {
  let end = 100000;
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const [, start, count] = line.split(":");
      const last = Number(start) + Number(count);
      if (Number.isFinite(last) && last > end) end = last;
    }
  }
  return Math.ceil(end / 65536) * 65536;
}

function runTool(tool: string, pid: number, list: IdMapping[]): void {
  const args = list.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)]);
  let result: ReturnType<typeof Bun.spawnSync>;
  try {
    result = Bun.spawnSync([tool, String(pid), ...args], { stdout: "pipe", stderr: "pipe" });
  } catch {
    throw new ContainrError("PERMISSION_DENIED", `${tool} is not installed: an unprivileged user needs it to map ids into a user namespace`, {
      hint: "install the uidmap package (newuidmap and newgidmap)",
    });
  }
  if (result.exitCode !== 0) {
    const why = result.stderr?.toString().trim() || `exit status ${result.exitCode}`;
    throw new ContainrError("PERMISSION_DENIED", `${tool} ${pid} ${args.join(" ")}: ${why}`, {
      hint: "the mappings must lie within your ranges in /etc/subuid and /etc/subgid",
    });
  }
}

const isOwnIdOnly = (list: IdMapping[], id: number) => list.length === 1 && list[0]!.hostID === id && list[0]!.size === 1;

/**
 * Write the maps of process pid's new user namespace. Checked before
 * anything is written, so that a user without sub-id ranges gets the lines
 * to add.
 */
export function writeIdMaps(pid: number, maps: IdMaps): void {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (uid === 0) {
    writeFileSync(`/proc/${pid}/uid_map`, mapText(maps.uid));
    writeFileSync(`/proc/${pid}/gid_map`, mapText(maps.gid));
    return;
  }
  if (isOwnIdOnly(maps.uid, uid) && isOwnIdOnly(maps.gid, gid)) {
    // an unprivileged process may map its own ids once setgroups is denied
    writeFileSync(`/proc/${pid}/setgroups`, "deny");
    writeFileSync(`/proc/${pid}/uid_map`, mapText(maps.uid));
    writeFileSync(`/proc/${pid}/gid_map`, mapText(maps.gid));
    return;
  }
  checkSubIds(uid);
  runTool("newuidmap", pid, maps.uid);
  runTool("newgidmap", pid, maps.gid);
}

/** An unprivileged user needs ranges in /etc/subuid and /etc/subgid for more than its own id. */
export function checkSubIds(uid: number, files = { subuid: "/etc/subuid", subgid: "/etc/subgid" }): void {
  const name = callerName(uid);
  const missing = [files.subuid, files.subgid].filter((f) => subIdRanges(f, name, uid).length === 0);
  if (missing.length === 0) return;
  const start = freeRangeStart([files.subuid, files.subgid]);
  throw new ContainrError("PERMISSION_DENIED", `user ${name} has no subordinate ids in ${missing.join(" and ")}, so its user namespace can map only its own uid and gid`, {
    hint: `as root, add this line to ${missing.join(" and ")} (or run 'usermod --add-subuids ${start}-${start + 65535} --add-subgids ${start}-${start + 65535} ${name}'):\n  ${name}:${start}:65536\nor map only your own ids (containr oci spec --rootless)`,
  });
}
