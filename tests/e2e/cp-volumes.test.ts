/**
 * `cp` with a stopped container sees its volumes and bind mounts, as
 * Docker's does: a copy into a volume's path lands in the volume (a later
 * `run -v` sees it), out of it reads the volume; a bind mount reaches the
 * host directory; a read-only mount refuses a copy in with Docker's error;
 * a mount point that is a symlink in the image stays inside the root; and
 * nothing the copy mounted is left mounted, after a success or a failure.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { engineEnv, type EngineEnv } from "../helpers/engine-env.ts";

let env: EngineEnv;
/** A host directory that a symlink in the image names (absolutely, and by climbing out with ../). */
let outside: string;

beforeAll(async () => {
  outside = mkdtempSync("/tmp/containr-cp-outside-");
  env = await engineEnv("cp-volumes", {
    files: { "etc/motd": "image\n", "data/from-image.txt": "copied up\n" },
    symlinks: { linked: outside, climbing: `../../../../../../../..${outside}` },
  });
}, 120_000);

afterAll(async () => {
  await env?.cleanUp();
  rmSync(outside, { recursive: true, force: true });
});

/** Mount points strictly below dir, from this process's mountinfo (the host's namespace). */
function mountsBelow(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point.startsWith(`${dir}/`));
}

/** What the copy could have left in a container's directory: anything but the overlay on rootfs/ (create leaves that). */
const leftBehind = (dir: string) => mountsBelow(dir).filter((point) => point !== `${dir}/rootfs`);

function created(name: string, args: string[]): { id: string; dir: string } {
  const res = env.containr(["create", "--name", name, ...args, env.ref, "true"]);
  expect(res.stderr).toBe("");
  const id = res.stdout.trim();
  return { id, dir: join(env.root, "containers", id) };
}

function hostFile(name: string, content: string): string {
  const dir = join(env.work, "host");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), content);
  return join(dir, name);
}

test("a stopped container's named volume: cp in lands in the volume, cp out reads it; tmpfs mounts are skipped", () => {
  const { containr, ref, inspect, work } = env;
  const { dir } = created("vol", ["-v", "shared:/data", "--mount", "type=tmpfs,target=/scratch"]);
  const mountpoint = containr(["volume", "inspect", "-f", "{{.Mountpoint}}", "shared"]).stdout.trim();
  expect(readFileSync(join(mountpoint, "from-image.txt"), "utf8")).toBe("copied up\n");

  expect(containr(["cp", hostFile("in.txt", "into the volume\n"), "vol:/data/"]).status).toBe(0);
  expect(readFileSync(join(mountpoint, "in.txt"), "utf8")).toBe("into the volume\n");
  // not in the container's own layer, where the volume would hide it
  expect(containr(["diff", "vol"]).stdout).not.toContain("/data/in.txt");
  expect(containr(["run", "--rm", "-v", "shared:/data", ref, "cat", "/data/in.txt"]).stdout).toBe("into the volume\n");

  writeFileSync(join(mountpoint, "made-on-host.txt"), "only in the volume\n");
  const out = join(work, "out-vol");
  mkdirSync(out);
  expect(containr(["cp", "vol:/data/made-on-host.txt", out]).status).toBe(0);
  expect(readFileSync(join(out, "made-on-host.txt"), "utf8")).toBe("only in the volume\n");
  expect(containr(["cp", "vol:/data", join(out, "whole")]).status).toBe(0);
  expect(readdirSync(join(out, "whole")).sort()).toEqual(["from-image.txt", "in.txt", "made-on-host.txt"]);

  // the tmpfs has no content while stopped: it was skipped (the copies above worked), and nothing is mounted on /scratch
  expect(leftBehind(dir)).toEqual([]);
  expect(inspect("vol", "{{.State.Status}}")).toBe("created");
});

test("a stopped container's bind mount: cp in writes the host directory, cp out reads it; its mount point is created inside the root", () => {
  const { containr, work } = env;
  const bound = join(work, "bound");
  mkdirSync(bound);
  writeFileSync(join(bound, "host.txt"), "from the host\n");
  const { dir } = created("bind", ["-v", `${bound}:/srv/deep/bound`]);
  expect(containr(["cp", hostFile("b.txt", "through the bind\n"), "bind:/srv/deep/bound/b.txt"]).status).toBe(0);
  expect(readFileSync(join(bound, "b.txt"), "utf8")).toBe("through the bind\n");
  const out = join(work, "out-bind.txt");
  expect(containr(["cp", "bind:/srv/deep/bound/host.txt", out]).status).toBe(0);
  expect(readFileSync(out, "utf8")).toBe("from the host\n");
  expect(leftBehind(dir)).toEqual([]);
  expect(mountsBelow(bound)).toEqual([]);
});

test("a read-only volume or bind mount refuses a copy in with Docker's error, and still gives its files out", () => {
  const { containr, work } = env;
  const bound = join(work, "ro-bound");
  mkdirSync(bound);
  writeFileSync(join(bound, "keep.txt"), "read me\n");
  const { dir } = created("ro", ["-v", "rovol:/rovol:ro", "-v", `${bound}:/robind:ro`]);
  const mountpoint = containr(["volume", "inspect", "-f", "{{.Mountpoint}}", "rovol"]).stdout.trim();
  for (const dest of ["ro:/rovol/", "ro:/robind/x.txt"]) {
    const refused = containr(["cp", hostFile("x.txt", "x\n"), dest]);
    expect(refused.status).toBe(125);
    expect(refused.stderr).toContain("mounted volume is marked read-only");
    expect(leftBehind(dir)).toEqual([]);
  }
  expect(existsSync(join(mountpoint, "x.txt"))).toBe(false);
  expect(existsSync(join(bound, "x.txt"))).toBe(false);
  // refused in the layer under the mount too: nothing was written anywhere
  expect(containr(["diff", "ro"]).stdout).not.toContain("x.txt");

  const out = join(work, "out-ro.txt");
  expect(containr(["cp", "ro:/robind/keep.txt", out]).status).toBe(0);
  expect(readFileSync(out, "utf8")).toBe("read me\n");
});

test("a mount point that is a symlink in the image is resolved inside the root: the host directory it names is never mounted on", () => {
  const { containr } = env;
  const { dir } = created("linked", ["-v", "linkvol:/linked"]);
  const mountpoint = containr(["volume", "inspect", "-f", "{{.Mountpoint}}", "linkvol"]).stdout.trim();
  expect(containr(["cp", hostFile("l.txt", "linked\n"), "linked:/linked/"]).status).toBe(0);
  // as the container sees /linked: the volume, mounted on the link's target inside the root
  expect(readFileSync(join(mountpoint, "l.txt"), "utf8")).toBe("linked\n");
  expect(readdirSync(outside)).toEqual([]);
  expect(existsSync(join(dir, "diff", outside))).toBe(true);
  expect(leftBehind(dir)).toEqual([]);
  expect(mountsBelow("/tmp").filter((m) => m.startsWith(outside))).toEqual([]);

  // a link that climbs out of the root is refused, not followed to the host
  const climbing = created("climbing", ["-v", "climbvol:/climbing"]);
  const refused = containr(["cp", hostFile("c.txt", "c\n"), "climbing:/etc/"]);
  expect(refused.status).toBe(125);
  expect(refused.stderr).toContain("cannot mount the container's volume or bind mount for the copy on /climbing: the symbolic link /climbing");
  expect(refused.stderr).toContain("points outside the container's root");
  expect(readdirSync(outside)).toEqual([]);
  expect(leftBehind(climbing.dir)).toEqual([]);
});

test("nothing stays mounted when the copy itself fails", () => {
  const { containr, work } = env;
  const { dir } = created("failing", ["-v", "failvol:/data", "-v", `${join(work, "fail-bound")}:/bound`]);
  const missing = containr(["cp", hostFile("f.txt", "f\n"), "failing:/data/no/such/dir/f.txt"]);
  expect(missing.status).toBe(125);
  expect(missing.stderr).toContain("Could not find the file /data/no/such/dir in container failing");
  expect(leftBehind(dir)).toEqual([]);
  const missingOut = containr(["cp", "failing:/bound/nothing", join(work, "nothing")]);
  expect(missingOut.status).toBe(125);
  expect(missingOut.stderr).toContain("Could not find the file /bound/nothing in container failing");
  expect(leftBehind(dir)).toEqual([]);
  // the container still starts and sees its volume
  expect(containr(["start", "-a", "failing"]).status).toBe(0);
});

test("a mount that cannot be attached fails the copy and detaches the ones attached before it", () => {
  const { containr, work } = env;
  const gone = join(work, "gone");
  const { dir } = created("half", ["-v", "halfvol:/data", "-v", `${gone}:/data/gone`]);
  rmSync(gone, { recursive: true });
  const refused = containr(["cp", hostFile("h.txt", "h\n"), "half:/etc/"]);
  expect(refused.status).toBe(125);
  expect(refused.stderr).toContain(`cannot mount ${gone} on /data/gone for the copy: bind source path does not exist`);
  expect(leftBehind(dir)).toEqual([]);
});

test("a running container's read-only mount refuses a copy in too (Docker checks before it copies)", () => {
  const { containr, ref, work } = env;
  const bound = join(work, "running-ro");
  mkdirSync(bound);
  containr(["run", "-d", "--name", "running", "-v", `${bound}:/ro:ro`, ref, "sleep", "1000"]);
  const refused = containr(["cp", hostFile("r.txt", "r\n"), "running:/ro/"]);
  expect(refused.status).toBe(125);
  expect(refused.stderr).toContain("mounted volume is marked read-only");
  expect(existsSync(join(bound, "r.txt"))).toBe(false);
  expect(containr(["rm", "-f", "running"]).status).toBe(0);
});

test("a volume with driver options (tmpfs) is mounted on its _data for the copy, as at start", () => {
  const { containr, ref } = env;
  expect(containr(["volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=8m", "tmpvol"]).status).toBe(0);
  const { dir } = created("tmpvol", ["-v", "tmpvol:/cache"]);
  expect(containr(["cp", hostFile("v.txt", "on the volume's tmpfs\n"), "tmpvol:/cache/"]).status).toBe(0);
  const mountpoint = containr(["volume", "inspect", "-f", "{{.Mountpoint}}", "tmpvol"]).stdout.trim();
  expect(mountsBelow(dirname(mountpoint))).toEqual([mountpoint]);
  expect(readFileSync(join(mountpoint, "v.txt"), "utf8")).toBe("on the volume's tmpfs\n");
  expect(leftBehind(dir)).toEqual([]);
  expect(containr(["run", "--rm", "-v", "tmpvol:/cache", ref, "cat", "/cache/v.txt"]).stdout).toBe("on the volume's tmpfs\n");
});

test("a --read-only container refuses a copy into its root filesystem, not into its read-write volume", () => {
  const { containr, ref } = env;
  containr(["run", "-d", "--read-only", "--name", "readonly", "-v", "ro-root-data:/data", ref, "sleep", "1000"]);
  const refused = containr(["cp", hostFile("rootfs.txt", "r\n"), "readonly:/etc/"]);
  expect(refused.status).toBe(125);
  expect(refused.stderr).toContain("container rootfs is marked read-only");
  expect(containr(["exec", "readonly", "ls", "/etc"]).stdout).not.toContain("rootfs.txt");
  expect(containr(["cp", hostFile("volume.txt", "v\n"), "readonly:/data/"]).status).toBe(0);
  expect(containr(["exec", "readonly", "cat", "/data/volume.txt"]).stdout).toBe("v\n");
  expect(containr(["rm", "-f", "-v", "readonly"]).status).toBe(0);
  containr(["volume", "rm", "ro-root-data"]);
});
