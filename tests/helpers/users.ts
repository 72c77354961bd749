/**
 * Real unprivileged users for rootless and permission tests. The harness
 * creates them with useradd (which gives each a 65536-id range in /etc/subuid
 * and /etc/subgid) and runs commands as them with setpriv.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** a private runtime dir, as systemd-logind would give ($XDG_RUNTIME_DIR) */
  runtimeDir: string;
}

function idsOf(name: string): { uid: number; gid: number; home: string } | undefined {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const f = line.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5]! };
}

function removeSubIds(name: string): void {
  for (const file of ["/etc/subuid", "/etc/subgid"]) {
    if (!existsSync(file)) continue;
    const kept = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith(`${name}:`));
    writeFileSync(file, kept.length ? `${kept.join("\n")}\n` : "");
  }
}

/**
 * Create (or reuse) a user. With `subIds: false` the user has no /etc/subuid
 * or /etc/subgid entries: a user without rootless set-up.
 */
export function ensureUser(name: string, options: { subIds: boolean }): TestUser {
  if (!idsOf(name)) {
    const r = Bun.spawnSync(["useradd", "-m", "-s", "/bin/sh", name], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`useradd ${name}: ${r.stderr.toString()}`);
  }
  if (options.subIds) {
    for (const file of ["/etc/subuid", "/etc/subgid"]) {
      const text = existsSync(file) ? readFileSync(file, "utf8") : "";
      if (!text.split("\n").some((l) => l.startsWith(`${name}:`))) {
        const r = Bun.spawnSync(["usermod", file === "/etc/subuid" ? "--add-subuids" : "--add-subgids", subRangeFor(name), name]);
        if (r.exitCode !== 0) throw new Error(`usermod for ${file}: ${r.stderr.toString()}`);
      }
    }
  } else {
    removeSubIds(name);
  }
  const ids = idsOf(name)!;
  const runtimeDir = `/run/user/${ids.uid}`;
  mkdirSync(runtimeDir, { recursive: true });
  chownSync(runtimeDir, ids.uid, ids.gid);
  chmodSync(runtimeDir, 0o700);
  return { name, ...ids, runtimeDir };
}

/** A 65536-id range that does not overlap other users' ranges (derived from the uid). */
function subRangeFor(name: string): string {
  const { uid } = idsOf(name)!;
  const start = 200000 + (uid % 1000) * 65536;
  return `${start}-${start + 65535}`;
}

/** argv that runs `argv` as the user, with a clean login-like environment. */
export function asUser(user: TestUser, argv: string[]): string[] {
  return [
    "setpriv",
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    "--init-groups",
    "--reset-env",
    "env",
    `HOME=${user.home}`,
    `USER=${user.name}`,
    `XDG_RUNTIME_DIR=${user.runtimeDir}`,
    "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
    ...argv,
  ];
}
