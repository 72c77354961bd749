/**
 * The image commands of the compiled binary, spawned as a user would, with
 * --root in a temp dir, against a real docker-registry on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, pushImage, standardLayers, writeLayerTree, type BuiltImage } from "../helpers/images.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";

const BIN = join(import.meta.dir, "../../bin/containr");

let work: string;
let registry: TestRegistry;
let authRegistry: TestRegistry;
let image: BuiltImage;
let ref: string;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function containr(root: string, args: string[], options: { stdin?: Uint8Array; env?: Record<string, string> } = {}): Run {
  const res = Bun.spawnSync([BIN, "--root", root, ...args], {
    stdin: options.stdin ?? "ignore",
    env: { ...process.env, XDG_CONFIG_HOME: join(work, "config"), DOCKER_CONFIG: join(work, "docker"), ...options.env },
  });
  return { status: res.exitCode ?? -1, stdout: res.stdout.toString(), stderr: res.stderr.toString() };
}

function newRoot(): string {
  return mkdtempSync(join(work, "root-"));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "containr-e2e-image-"));
  registry = await startRegistry();
  authRegistry = await startRegistry({ kind: "basic", user: "carol", password: "pa55" });
  image = buildImage(join(work, "image"), { layers: standardLayers(), format: "docker" });
  await pushImage(registry, "e2e/app", "v1", image);
  await pushImage(authRegistry, "e2e/private", "v1", image);
  ref = `${registry.domain}/e2e/app:v1`;
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await authRegistry?.stop();
  rmSync(work, { recursive: true, force: true });
});

test("pull, images, inspect, history; the layer directories hold the image's files", () => {
  const root = newRoot();
  const pull = containr(root, ["pull", ref]);
  expect(pull.status).toBe(0);
  expect(pull.stdout).toBe(`${ref}\n`);
  expect(pull.stderr).toContain("Pull complete");
  expect(pull.stderr).toContain(`Digest: ${image.manifestDigest}`);

  const again = containr(root, ["pull", "-q", ref]);
  expect(again).toMatchObject({ status: 0, stdout: `${ref}\n`, stderr: "" });

  const images = containr(root, ["images"]);
  expect(images.stdout.split("\n")[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  expect(images.stdout).toMatch(new RegExp(`^${registry.domain}/e2e/app\\s+v1\\s+${image.configDigest.slice(7, 19)}\\s`, "m"));
  expect(containr(root, ["images", "-q"]).stdout).toBe(`${image.configDigest.slice(7, 19)}\n`);
  expect(containr(root, ["images", "--digests"]).stdout).toContain(image.manifestDigest);
  const json = JSON.parse(containr(root, ["images", "--format", "json"]).stdout);
  expect(json).toMatchObject({ Repository: `${registry.domain}/e2e/app`, Tag: "v1", Digest: "<none>", ID: image.configDigest.slice(7, 19) });
  expect(JSON.parse(containr(root, ["images", "--digests", "--format", "json"]).stdout)).toMatchObject({ Digest: image.manifestDigest });
  // Go templates, docker's `table` prefix and --digests on a user table, as `docker images` prints them.
  expect(containr(root, ["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout).toBe(`${ref}\n`);
  const sized = containr(root, ["images", "--format", "table {{.ID}}\\t{{.Size}}"]).stdout.split("\n");
  expect(sized[0]).toBe("IMAGE ID       SIZE");
  expect(sized[1]).toMatch(new RegExp(`^${image.configDigest.slice(7, 19)}   \\d+(\\.\\d+)?[kM]?B$`));
  expect(containr(root, ["images", "--digests", "--format", "table {{.Tag}}"]).stdout).toMatch(new RegExp(`^TAG\\s+DIGEST\nv1\\s+${image.manifestDigest}\n$`));
  const badTemplate = containr(root, ["images", "--format", "{{.Nope}}"]);
  expect(badTemplate.status).toBe(125);
  expect(badTemplate.stderr).toContain("can't evaluate field Nope");

  const [inspect] = JSON.parse(containr(root, ["image", "inspect", ref]).stdout);
  expect(inspect).toMatchObject({
    Id: image.configDigest,
    RepoTags: [ref],
    RepoDigests: [`${registry.domain}/e2e/app@${image.manifestDigest}`],
    Architecture: "amd64",
    Os: "linux",
    Config: { Cmd: ["/bin/sh"] },
    RootFS: { Type: "layers", Layers: image.layers.map((l) => l.diffId) },
  });
  // The overlay's lower directories, top first, as the engine will mount them.
  const lowers: string[] = inspect.GraphDriver.Data.LowerDir.split(":");
  expect(lowers).toHaveLength(3);
  expect(readFileSync(join(lowers[0]!, "app/hello.txt"), "utf8")).toBe("hello from layer 2\n");
  expect(readFileSync(join(lowers[1]!, "app/hello.txt"), "utf8")).toBe("hello from layer 1\n");
  expect(lstatSync(join(lowers[1]!, "data/gone.txt")).isCharacterDevice()).toBe(true);
  expect(statSync(join(lowers[2]!, "bin/busybox")).size).toBe(statSync("/bin/busybox").size);

  const history = containr(root, ["history", ref]);
  expect(history.status).toBe(0);
  expect(history.stdout.split("\n")[1]).toStartWith(image.configDigest.slice(7, 19));
  expect(history.stdout).toContain("test layer 0");
  expect(history.stdout.split("\n")[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
  expect(containr(root, ["history", "--format", "{{.CreatedBy}}|{{.CreatedAt}}", ref], { env: { TZ: "UTC" } }).stdout).toBe(
    [2, 1, 0].map((i) => `test layer ${i}|2024-05-01T12:00:00Z`).join("\n") + "\n",
  );
  const historyJson = containr(root, ["history", "--format", "json", ref]).stdout.trim().split("\n");
  expect(historyJson).toHaveLength(3);
  expect(historyJson[1]).toContain('"ID":"\\u003cmissing\\u003e"');
  expect(JSON.parse(historyJson[0]!)).toMatchObject({ ID: image.configDigest.slice(7, 19), CreatedBy: "test layer 2" });
  const bytes = containr(root, ["history", "--human=false", "--format", "table {{.Size}}", ref]).stdout.split("\n");
  expect(bytes[0]).toBe("SIZE");
  expect(bytes.slice(1, 4).every((line) => /^\d+$/.test(line))).toBe(true);
});

test("an unknown image: IMAGE_NOT_FOUND, manifest unknown, naming the reference", () => {
  const res = containr(newRoot(), ["pull", `${registry.domain}/e2e/missing:v1`]);
  expect(res.status).toBe(125);
  expect(res.stderr).toContain(`Error: [IMAGE_NOT_FOUND] ${registry.domain}/e2e/missing:v1: manifest unknown`);
  const local = containr(newRoot(), ["image", "inspect", "nothing:here"]);
  expect(local.status).toBe(1);
  expect(local.stderr).toContain("no such image: nothing:here");
});

test("invalid references are INVALID_REFERENCE", () => {
  const res = containr(newRoot(), ["pull", "Bad/Name"]);
  expect(res.status).toBe(125);
  expect(res.stderr).toContain("[INVALID_REFERENCE]");
});

test("tag and rmi: untag while other names remain, delete with the last, free unreferenced layers", () => {
  const root = newRoot();
  expect(containr(root, ["pull", "-q", ref]).status).toBe(0);
  expect(containr(root, ["tag", ref, "local/app:one"]).status).toBe(0);
  expect(containr(root, ["images"]).stdout).toMatch(/^local\/app\s+one\s/m);
  const untag = containr(root, ["rmi", "local/app:one"]);
  expect(untag).toMatchObject({ status: 0, stdout: "Untagged: local/app:one\n" });
  const layerDir = join(root, "image/layers/sha256");
  expect(readdirSync(layerDir)).toHaveLength(3);
  const del = containr(root, ["rmi", ref]);
  expect(del.status).toBe(0);
  expect(del.stdout).toBe(`Untagged: ${ref}\nUntagged: ${registry.domain}/e2e/app@${image.manifestDigest}\nDeleted: ${image.configDigest}\n`);
  expect(readdirSync(layerDir)).toEqual([]);
  expect(readdirSync(join(root, "image/blobs/sha256"))).toEqual([]);
  expect(containr(root, ["images", "-q"]).stdout).toBe("");
  const missing = containr(root, ["rmi", ref]);
  expect(missing.status).toBe(125);
  expect(missing.stderr).toContain("[IMAGE_NOT_FOUND]");
});

test("save, then load into another store (both archive formats in one tarball)", () => {
  const root = newRoot();
  expect(containr(root, ["pull", "-q", ref]).status).toBe(0);
  expect(containr(root, ["tag", ref, "saved:latest"]).status).toBe(0);
  const archive = join(work, "saved.tar");
  expect(containr(root, ["save", "-o", archive, "saved", ref]).status).toBe(0);
  const names = new TextDecoder().decode(Bun.spawnSync(["tar", "tf", archive]).stdout).split("\n");
  expect(names).toContain("oci-layout");
  expect(names).toContain("index.json");
  expect(names).toContain("manifest.json");
  expect(names).toContain(`blobs/sha256/${image.manifestDigest.slice(7)}`);

  const other = newRoot();
  const load = containr(other, ["load", "-i", archive]);
  expect(load.status).toBe(0);
  expect(load.stdout).toBe(`Loaded image: saved:latest\nLoaded image: ${ref}\n`);
  const [inspect] = JSON.parse(containr(other, ["image", "inspect", "saved"]).stdout);
  expect(inspect.Id).toBe(image.configDigest);
  expect(readFileSync(join(inspect.GraphDriver.Data.LowerDir.split(":")[0], "app/hello.txt"), "utf8")).toBe("hello from layer 2\n");

  // A docker-archive alone (no OCI index): manifest.json with its layer paths.
  const dockerOnly = join(work, "docker-only");
  Bun.spawnSync(["mkdir", "-p", dockerOnly]);
  Bun.spawnSync(["tar", "-C", dockerOnly, "-xf", archive]);
  rmSync(join(dockerOnly, "index.json"));
  rmSync(join(dockerOnly, "oci-layout"));
  const dockerArchive = join(work, "docker-only.tar");
  Bun.spawnSync(["tar", "-C", dockerOnly, "-cf", dockerArchive, "."]);
  const third = newRoot();
  const viaStdin = containr(third, ["load"], { stdin: readFileSync(dockerArchive) });
  expect(viaStdin.status).toBe(0);
  expect(viaStdin.stdout).toContain("Loaded image: saved:latest");
  expect(JSON.parse(containr(third, ["image", "inspect", "saved"]).stdout)[0].Id).toBe(image.configDigest);
});

test("import a rootfs tarball (file and stdin, gzip and plain) with --change", () => {
  const root = newRoot();
  const tree = join(work, "import-tree");
  writeLayerTree(tree, { busybox: true, files: { "etc/imported": "yes\n" } });
  const tgz = join(work, "rootfs.tar.gz");
  expect(Bun.spawnSync(["tar", "-C", tree, "-czf", tgz, "."]).exitCode).toBe(0);
  const res = containr(root, ["import", "-c", 'CMD ["/bin/echo", "hi"]', "--change", "ENV A=1 B=two", "-c", "WORKDIR /srv", "-c", "USER 1000", "-m", "from a test", tgz, "imported:v1"]);
  expect(res.status).toBe(0);
  expect(res.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
  const [inspect] = JSON.parse(containr(root, ["image", "inspect", "imported:v1"]).stdout);
  expect(inspect.Config).toEqual({ Cmd: ["/bin/echo", "hi"], Env: ["A=1", "B=two"], WorkingDir: "/srv", User: "1000" });
  expect(inspect.Id).toBe(res.stdout.trim());
  expect(readFileSync(join(inspect.GraphDriver.Data.LowerDir, "etc/imported"), "utf8")).toBe("yes\n");
  expect(containr(root, ["history", "imported:v1"]).stdout).toContain("from a test");

  const plain = join(work, "rootfs.tar");
  Bun.spawnSync(["tar", "-C", tree, "-cf", plain, "."]);
  const fromStdin = containr(root, ["import", "-c", "ENTRYPOINT /bin/sh", "-", "stdin:v1"], { stdin: readFileSync(plain) });
  expect(fromStdin.status).toBe(0);
  const [viaStdin] = JSON.parse(containr(root, ["image", "inspect", "stdin:v1"]).stdout);
  expect(viaStdin.Config.Entrypoint).toEqual(["/bin/sh", "-c", "/bin/sh"]);
  // Same content, so the same layer, stored once.
  expect(viaStdin.RootFS.Layers).toEqual(inspect.RootFS.Layers);

  const bad = containr(root, ["import", "-c", "RUN rm -rf /", tgz]);
  expect(bad.status).toBe(125);
  expect(bad.stderr).toContain("[USAGE]");
});

test("push to the registry and pull back into an empty store", () => {
  const root = newRoot();
  expect(containr(root, ["pull", "-q", ref]).status).toBe(0);
  const target = `${registry.domain}/e2e/pushed:v2`;
  expect(containr(root, ["tag", ref, target]).status).toBe(0);
  const push = containr(root, ["push", target]);
  expect(push.status).toBe(0);
  expect(push.stdout).toBe(`${image.manifestDigest}\n`);
  const again = containr(root, ["push", target]);
  expect(again.stderr).toContain("Layer already exists");

  const other = newRoot();
  expect(containr(other, ["pull", "-q", target]).status).toBe(0);
  expect(containr(other, ["images", "-q", "--no-trunc"]).stdout).toBe(`${image.configDigest}\n`);
});

describe("login and logout", () => {
  const privateRef = () => `${authRegistry.domain}/e2e/private:v1`;

  test("a wrong password: REGISTRY_UNAUTHORIZED naming the registry, with the login hint", () => {
    const res = containr(newRoot(), ["login", "-u", "carol", "--password-stdin", authRegistry.domain], { stdin: new TextEncoder().encode("wrong\n") });
    expect(res.status).toBe(125);
    expect(res.stderr).toContain(`[REGISTRY_UNAUTHORIZED] ${authRegistry.domain}: the registry refused the credentials`);
    expect(res.stderr).toContain(`Hint: log in with 'containr login ${authRegistry.domain}'`);
    expect(existsSync(join(work, "config/containr/auth.json"))).toBe(false);
  });

  test("login stores credentials that pull uses; logout removes them", () => {
    const root = newRoot();
    expect(containr(root, ["pull", privateRef()]).stderr).toContain("[REGISTRY_UNAUTHORIZED]");
    const login = containr(root, ["login", "-u", "carol", "--password-stdin", authRegistry.domain], { stdin: new TextEncoder().encode("pa55\n") });
    expect(login).toMatchObject({ status: 0, stdout: "Login Succeeded\n" });
    expect(statSync(join(work, "config/containr/auth.json")).mode & 0o777).toBe(0o600);
    expect(containr(root, ["pull", "-q", privateRef()]).status).toBe(0);
    expect(containr(root, ["logout", authRegistry.domain])).toMatchObject({ status: 0, stdout: `Removing login credentials for ${authRegistry.domain}\n` });
    expect(containr(newRoot(), ["pull", privateRef()]).stderr).toContain("[REGISTRY_UNAUTHORIZED]");
  });
});
