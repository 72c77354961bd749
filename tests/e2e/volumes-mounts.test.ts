/**
 * Volumes and bind mounts from the compiled binary, with an image (busybox,
 * VOLUME /data holding a seed file owned by 1000:1000 mode 0640) pulled from
 * a real registry on 127.0.0.1: named volumes outliving containers, :ro,
 * bind mounts, copy-up, anonymous volumes and rm -v, --mount's keys, the
 * local driver's tmpfs option, and Docker's errors for bad input.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { engineEnv, type EngineEnv } from "../helpers/engine-env.ts";

let env: EngineEnv;

beforeAll(async () => {
  env = await engineEnv("volumes", { files: { "data/seed.txt": { content: "seeded by the image\n", uid: 1000, gid: 1000, mode: 0o640 } } }, { Volumes: { "/data": {} } });
}, 120_000);

afterAll(async () => {
  await env?.cleanUp();
});

test("a named volume written by one container is read by another after the first is removed", () => {
  const { containr, ref } = env;
  const write = containr(["run", "--name", "writer", "-v", "shared:/data", ref, "sh", "-c", "echo written > /data/note"]);
  expect(write.stderr).toBe("");
  expect(write.status).toBe(0);
  expect(containr(["rm", "writer"]).status).toBe(0);
  const read = containr(["run", "--rm", "-v", "shared:/data", ref, "cat", "/data/note", "/data/seed.txt"]);
  expect(read.stdout).toBe("written\nseeded by the image\n");
  // the data is in the volume's Mountpoint under the data root
  expect(containr(["volume", "inspect", "-f", "{{.Mountpoint}}", "shared"]).stdout).toBe(`${join(env.root, "volumes", "shared", "_data")}\n`);
  expect(readFileSync(join(env.root, "volumes", "shared", "_data", "note"), "utf8")).toBe("written\n");
});

test("copy-up keeps owners and modes; volume-nocopy leaves the volume empty", () => {
  const { containr, ref } = env;
  expect(containr(["run", "--rm", "-v", "fresh:/data", ref, "stat", "-c", "%u:%g %a", "/data/seed.txt"]).stdout).toBe("1000:1000 640\n");
  const empty = containr(["run", "--rm", "--mount", "type=volume,src=nocopy,dst=/data,volume-nocopy", ref, "ls", "-A", "/data"]);
  expect(empty.status).toBe(0);
  expect(empty.stdout).toBe("");
  // a volume that already holds data is not filled again
  expect(containr(["run", "--rm", "-v", "fresh:/data", ref, "sh", "-c", "rm /data/seed.txt; echo mine > /data/own"]).status).toBe(0);
  expect(containr(["run", "--rm", "-v", "fresh:/data", ref, "ls", "/data"]).stdout).toBe("own\n");
});

test(":ro refuses writes, in -v and --mount", () => {
  const { containr, ref } = env;
  const ro = containr(["run", "--rm", "-v", "shared:/data:ro", ref, "sh", "-c", "echo x > /data/y"]);
  expect(ro.status).not.toBe(0);
  expect(ro.stderr).toContain("Read-only file system");
  const mountRo = containr(["run", "--rm", "--mount", "source=shared,target=/data,readonly", ref, "touch", "/data/z"]);
  expect(mountRo.status).not.toBe(0);
  expect(mountRo.stderr).toContain("Read-only file system");
  expect(existsSync(join(env.root, "volumes", "shared", "_data", "z"))).toBe(false);
});

test("a bind mount shows host files; -v creates a missing host directory; --mount type=bind refuses one", () => {
  const { containr, ref, work } = env;
  const host = join(work, "host");
  mkdirSync(host);
  writeFileSync(join(host, "from-host"), "host file\n");
  expect(containr(["run", "--rm", "-v", `${host}:/mnt`, ref, "cat", "/mnt/from-host"]).stdout).toBe("host file\n");
  expect(containr(["run", "--rm", "--mount", `type=bind,source=${host},target=/mnt`, ref, "sh", "-c", "echo back > /mnt/from-container"]).status).toBe(0);
  expect(readFileSync(join(host, "from-container"), "utf8")).toBe("back\n");
  expect(containr(["run", "--rm", "-v", `${host}:/mnt:ro`, ref, "touch", "/mnt/no"]).status).not.toBe(0);

  const missing = join(work, "made-by-v");
  expect(containr(["run", "--rm", "-v", `${missing}:/made`, ref, "true"]).status).toBe(0);
  expect(existsSync(missing)).toBe(true);

  const refused = containr(["run", "--rm", "--mount", `type=bind,source=${join(work, "absent")},target=/x`, ref, "true"]);
  expect(refused.status).toBe(125);
  expect(refused.stderr).toContain(`invalid mount config for type "bind": bind source path does not exist: ${join(work, "absent")}`);
  expect(existsSync(join(work, "absent"))).toBe(false);

  // ./relative is a host path (docker/cli 23+): made absolute against the working directory
  expect(containr(["run", "--rm", "-v", "./host:/mnt", ref, "cat", "/mnt/from-host"], { cwd: work }).stdout).toBe("host file\n");
});

test("an image VOLUME gets an anonymous volume that rm -v removes; without -v it stays", () => {
  const { containr, ref, inspect } = env;
  expect(containr(["create", "--name", "anon", ref, "true"]).status).toBe(0);
  const name = inspect("anon", "{{range .Mounts}}{{.Name}}{{end}}");
  expect(name).toMatch(/^[0-9a-f]{64}$/);
  expect(inspect("anon", "{{range .Mounts}}{{.Type}} {{.Destination}} {{.RW}}{{end}}")).toBe("volume /data true");
  expect(containr(["volume", "inspect", "-f", "{{json .Labels}}", name]).stdout).toBe('{"com.docker.volume.anonymous":""}\n');
  expect(containr(["volume", "ls", "-q"]).stdout).toContain(name);
  expect(containr(["rm", "-v", "anon"]).status).toBe(0);
  expect(containr(["volume", "ls", "-q"]).stdout).not.toContain(name);
  expect(existsSync(join(env.root, "volumes", name))).toBe(false);

  expect(containr(["create", "--name", "keep", ref, "true"]).status).toBe(0);
  const kept = inspect("keep", "{{range .Mounts}}{{.Name}}{{end}}");
  expect(containr(["rm", "keep"]).status).toBe(0);
  expect(containr(["volume", "ls", "-q"]).stdout).toContain(kept);
  // prune (anonymous, unused) takes it
  const prune = containr(["volume", "prune", "-f"]);
  expect(prune.stdout).toContain(`Deleted Volumes:\n${kept}\n`);
  expect(containr(["volume", "ls", "-q"]).stdout).not.toContain(kept);
  // a -v /path volume is anonymous too, and --rm removes it
  expect(containr(["run", "--rm", "-v", "/scratch", ref, "true"]).status).toBe(0);
  expect(containr(["volume", "ls", "-q", "--filter", "label=com.docker.volume.anonymous"]).stdout).toBe("");
});

test("--mount type=tmpfs with tmpfs-size and tmpfs-mode", () => {
  const { containr, ref } = env;
  const run = containr(["run", "--rm", "--mount", "type=tmpfs,dst=/scratch,tmpfs-size=1m,tmpfs-mode=1770", ref, "sh", "-c", "grep ' /scratch ' /proc/mounts; stat -c %a /scratch"]);
  expect(run.stdout).toMatch(/^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770/);
  expect(run.stdout).toEndWith("1770\n");
});

test("volume create with labels and the local driver's tmpfs option; ls filters and formats; rm refuses a volume in use", () => {
  const { containr, ref } = env;
  expect(containr(["volume", "create", "--label", "tier=db", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=2m", "fast"]).stdout).toBe("fast\n");
  const inspected = JSON.parse(containr(["volume", "inspect", "fast"]).stdout);
  expect(inspected).toEqual([
    {
      CreatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      Driver: "local",
      Labels: { tier: "db" },
      Mountpoint: join(env.root, "volumes", "fast", "_data"),
      Name: "fast",
      Options: { type: "tmpfs", device: "tmpfs", o: "size=2m" },
      Scope: "local",
    },
  ]);
  const id = containr(["run", "-d", "-v", "fast:/fast", ref, "sh", "-c", "echo in-tmpfs > /fast/f; grep ' /fast ' /proc/mounts; sleep 60"]).stdout.trim();
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  expect(containr(["run", "--rm", "-v", "fast:/fast", ref, "cat", "/fast/f"]).stdout).toBe("in-tmpfs\n");
  expect(containr(["logs", id]).stdout).toMatch(/^tmpfs \/fast tmpfs .*size=2048k/);

  expect(containr(["volume", "ls", "--filter", "label=tier=db", "--format", "{{.Name}} {{.Driver}} {{.Labels}}"]).stdout).toBe("fast local tier=db\n");
  // in use by the running container: not dangling (its anonymous /data volume is not either)
  expect(containr(["volume", "ls", "--filter", "dangling=false", "--filter", "label=tier", "-q"]).stdout).toBe("fast\n");
  expect(containr(["volume", "ls", "--filter", "dangling=true", "-q"]).stdout).not.toContain("fast");
  // "fas", not "fa": anonymous volumes are named in hex, and a hex name may contain "fa"
  expect(containr(["volume", "ls", "--filter", "name=fas", "-q"]).stdout).toBe("fast\n");
  const json = JSON.parse(containr(["volume", "ls", "--filter", "name=fast", "--format", "json"]).stdout);
  expect(json).toMatchObject({ Driver: "local", Name: "fast", Scope: "local", Labels: "tier=db" });
  expect(containr(["volume", "ls"]).stdout.split("\n")[0]).toMatch(/^DRIVER\s+VOLUME NAME$/);

  const inUse = containr(["volume", "rm", "fast"]);
  expect(inUse.status).toBe(125);
  expect(inUse.stderr).toContain(`remove fast: volume is in use - [${id}]`);
  expect(containr(["volume", "ls", "-q"]).stdout).toContain("fast");
  expect(containr(["rm", "-f", id]).status).toBe(0);
  expect(containr(["volume", "rm", "fast"]).stdout).toBe("fast\n");
  expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(join(env.root, "volumes", "fast"));
});

test("bad input: Docker's errors, nothing created", () => {
  const { containr, ref } = env;
  const before = containr(["volume", "ls", "-q"]).stdout;
  const badName = containr(["volume", "create", "a/b"]);
  expect(badName.status).toBe(125);
  expect(badName.stderr).toContain('create a/b: "a/b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path');

  const relative = containr(["run", "--rm", "-v", "some/dir:/x", ref, "true"]);
  expect(relative.status).toBe(125);
  expect(relative.stderr).toContain('"some/dir" includes invalid characters for a local volume name');

  const unknownKey = containr(["run", "--rm", "--mount", "type=bind,src=/tmp,dst=/x,colour=blue", ref, "true"]);
  expect(unknownKey.status).toBe(125);
  expect(unknownKey.stderr).toContain(`invalid argument "type=bind,src=/tmp,dst=/x,colour=blue" for "--mount" flag: unexpected key 'colour' in 'colour=blue'`);

  const badOpt = containr(["volume", "create", "-o", "colour=blue", "v2"]);
  expect(badOpt.status).toBe(125);
  expect(badOpt.stderr).toContain('create v2: invalid option: "colour"');
  expect(containr(["volume", "create", "-o", "type=tmpfs", "v3"]).stderr).toContain('create v3: missing required option: "device"');

  expect(containr(["run", "--rm", "-v", "a:b:c:d", ref, "true"]).stderr).toContain("invalid spec: a:b:c:d: too many colons");
  expect(containr(["run", "--rm", "-v", "vol:relative", ref, "true"]).stderr).toContain("invalid mount path: 'relative' mount path must be absolute");
  expect(containr(["volume", "rm", "nosuch"]).stderr).toContain("get nosuch: no such volume");

  expect(containr(["volume", "ls", "-q"]).stdout).toBe(before);
  expect(containr(["ps", "-aq"]).stdout).toBe("");
});
