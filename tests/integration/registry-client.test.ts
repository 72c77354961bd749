/**
 * The registry client against a real docker-registry: basic and token auth,
 * credentials from containr's auth.json, Docker's config.json and a
 * credential helper; and, through a proxy in the test, the failures a
 * healthy registry does not make: cross-origin blob redirects, corrupt
 * blobs, 503 with Retry-After, a connection cut mid-blob.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeCredentials, saveCredentials } from "../../src/image/credentials.ts";
import { pullImage } from "../../src/image/pull.ts";
import { ImageStore } from "../../src/image/store.ts";
import { buildImage, pushImage, standardLayers, type BuiltImage } from "../helpers/images.ts";
import { startProxy, startRegistry, type TestProxy, type TestRegistry } from "../helpers/registry.ts";

let work: string;
let image: BuiltImage;
const savedEnv = { ...process.env };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "containr-regtest-"));
  image = buildImage(join(work, "image"), { layers: standardLayers(), compression: "gzip" });
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Credentials are looked up in files under these directories: give each test its own. */
function isolateConfig(): string {
  const dir = mkdtempSync(join(work, "home-"));
  process.env.XDG_CONFIG_HOME = join(dir, "config");
  process.env.DOCKER_CONFIG = join(dir, "docker");
  return dir;
}

afterEach(() => {
  process.env.XDG_CONFIG_HOME = savedEnv.XDG_CONFIG_HOME;
  process.env.DOCKER_CONFIG = savedEnv.DOCKER_CONFIG;
  process.env.PATH = savedEnv.PATH;
  if (savedEnv.XDG_CONFIG_HOME === undefined) delete process.env.XDG_CONFIG_HOME;
  if (savedEnv.DOCKER_CONFIG === undefined) delete process.env.DOCKER_CONFIG;
});

async function withStore<T>(fn: (store: ImageStore) => Promise<T>): Promise<T> {
  const root = mkdtempSync(join(work, "store-"));
  const store = ImageStore.open(root);
  try {
    return await fn(store);
  } finally {
    store.close();
    rmSync(root, { recursive: true, force: true });
  }
}

describe("basic auth (htpasswd)", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ kind: "basic", user: "alice", password: "s3cret" });
    await pushImage(registry, "private/app", "v1", image);
  }, 30_000);
  afterAll(() => registry?.stop());

  test("without credentials: REGISTRY_UNAUTHORIZED naming the registry, with the login hint", async () => {
    isolateConfig();
    await withStore(async (store) => {
      const err = await pullImage(store, `${registry.domain}/private/app:v1`).catch((e) => e);
      expect(err.code).toBe("REGISTRY_UNAUTHORIZED");
      expect(err.message).toContain(registry.domain);
      expect(err.hint).toBe(`log in with 'containr login ${registry.domain}'`);
    });
  });

  test("credentials saved by login are used, and forgotten by logout", async () => {
    isolateConfig();
    const file = saveCredentials(registry.domain, { username: "alice", password: "s3cret" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await withStore(async (store) => {
      const result = await pullImage(store, `${registry.domain}/private/app:v1`);
      expect(result.image.id).toBe(image.configDigest);
    });
    expect(removeCredentials(registry.domain)).toBe(true);
    await withStore(async (store) => {
      const err = await pullImage(store, `${registry.domain}/private/app:v1`).catch((e) => e);
      expect(err.code).toBe("REGISTRY_UNAUTHORIZED");
    });
  });

  test("a wrong password is refused with REGISTRY_UNAUTHORIZED", async () => {
    isolateConfig();
    saveCredentials(registry.domain, { username: "alice", password: "wrong" });
    await withStore(async (store) => {
      const err = await pullImage(store, `${registry.domain}/private/app:v1`).catch((e) => e);
      expect(err.code).toBe("REGISTRY_UNAUTHORIZED");
      expect(err.message).toBe(`${registry.domain}: the registry refused the credentials`);
    });
  });

  test("Docker's config.json auths are read", async () => {
    const home = isolateConfig();
    mkdirSync(join(home, "docker"));
    writeFileSync(join(home, "docker/config.json"), JSON.stringify({ auths: { [`http://${registry.domain}/v1/`]: { auth: Buffer.from("alice:s3cret").toString("base64") } } }));
    await withStore(async (store) => {
      expect((await pullImage(store, `${registry.domain}/private/app:v1`)).image.id).toBe(image.configDigest);
    });
  });

  test("a credsStore helper (docker-credential-NAME get) is asked", async () => {
    const home = isolateConfig();
    mkdirSync(join(home, "docker"));
    mkdirSync(join(home, "bin"));
    const helper = join(home, "bin/docker-credential-testing");
    writeFileSync(
      helper,
      `#!/bin/sh\nread server\n[ "$1" = get ] && [ "$server" = "${registry.domain}" ] && echo '{"ServerURL":"'$server'","Username":"alice","Secret":"s3cret"}' && exit 0\necho "credentials not found in native keychain"; exit 1\n`,
    );
    chmodSync(helper, 0o755);
    process.env.PATH = `${join(home, "bin")}:${process.env.PATH}`;
    writeFileSync(join(home, "docker/config.json"), JSON.stringify({ credsStore: "testing" }));
    await withStore(async (store) => {
      expect((await pullImage(store, `${registry.domain}/private/app:v1`)).image.id).toBe(image.configDigest);
    });
  });

  test("a blob redirect to another origin drops the credentials, and the pull succeeds", async () => {
    isolateConfig();
    const basic = `Basic ${Buffer.from("alice:s3cret").toString("base64")}`;
    // "Blob storage": another origin that serves blobs without asking for credentials.
    const storage = startProxy(registry.url, (req) => {
      const headers = new Headers(req.headers);
      headers.set("authorization", basic);
      return fetch(`${registry.url}${new URL(req.url).pathname}`, { headers });
    });
    const front = startProxy(registry.url, (req) => {
      const path = new URL(req.url).pathname;
      if (req.method === "GET" && /\/blobs\/sha256:/.test(path) && req.headers.get("authorization")) {
        return new Response(null, { status: 307, headers: { Location: `${storage.url}${path}` } });
      }
      return undefined;
    });
    saveCredentials(front.domain, { username: "alice", password: "s3cret" });
    try {
      await withStore(async (store) => {
        const result = await pullImage(store, `${front.domain}/private/app:v1`);
        expect(result.image.id).toBe(image.configDigest);
      });
      expect(storage.seen.length).toBeGreaterThanOrEqual(4);
      for (const req of storage.seen) expect(req.authorization).toBeNull();
      expect(front.seen.some((r) => r.authorization === basic)).toBe(true);
    } finally {
      front.stop();
      storage.stop();
    }
  });
});

describe("token auth (bearer tokens from a token server)", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ kind: "token", user: "bob", password: "t0ken" });
    await pushImage(registry, "team/app", "v1", image);
  }, 30_000);
  afterAll(() => registry?.stop());

  test("a pull gets one token for its scope and reuses it for every request", async () => {
    isolateConfig();
    saveCredentials(registry.domain, { username: "bob", password: "t0ken" });
    registry.tokenServer!.requests.length = 0;
    await withStore(async (store) => {
      expect((await pullImage(store, `${registry.domain}/team/app:v1`)).image.id).toBe(image.configDigest);
    });
    const requests = registry.tokenServer!.requests;
    expect(requests).toEqual([{ scope: "repository:team/app:pull", user: "bob" }]);
  });

  test("anonymous and wrong credentials are refused", async () => {
    isolateConfig();
    await withStore(async (store) => {
      const anonymous = await pullImage(store, `${registry.domain}/team/app:v1`).catch((e) => e);
      expect(anonymous.code).toBe("REGISTRY_UNAUTHORIZED");
      saveCredentials(registry.domain, { username: "bob", password: "nope" });
      const wrong = await pullImage(store, `${registry.domain}/team/app:v1`).catch((e) => e);
      expect(wrong.code).toBe("REGISTRY_UNAUTHORIZED");
      expect(wrong.message).toContain(registry.domain);
    });
  });
});

describe("failures through a proxy", () => {
  let registry: TestRegistry;
  let proxy: TestProxy | undefined;
  const layer = () => image.layers[0]!;
  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, "test/app", "v1", image);
  }, 30_000);
  afterAll(() => registry?.stop());
  afterEach(() => proxy?.stop());

  const isLayerBlob = (req: Request) => req.method === "GET" && new URL(req.url).pathname.endsWith(`/blobs/${layer().digest}`);

  test("a corrupted blob is DIGEST_MISMATCH and nothing of it is kept", async () => {
    proxy = startProxy(registry.url, async (req, forward) => {
      if (!isLayerBlob(req)) return undefined;
      const bytes = new Uint8Array(await (await forward()).arrayBuffer());
      bytes[bytes.length >> 1]! ^= 0xff;
      return new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } });
    });
    await withStore(async (store) => {
      const err = await pullImage(store, `${proxy!.domain}/test/app:v1`).catch((e) => e);
      expect(`${err.code} ${err.message}`).toStartWith("DIGEST_MISMATCH");
      expect(err.message).toContain(layer().digest);
      expect(store.hasBlob(layer().digest)).toBe(false);
      expect(store.hasLayer(layer().diffId)).toBe(false);
      expect(readdirSync(store.tmpDir)).toEqual([]);
      expect(store.listImages()).toEqual([]);
    });
  });

  test("503 with Retry-After is retried after the delay", async () => {
    proxy = startProxy(registry.url, (req, _forward, count) =>
      isLayerBlob(req) && count === 1 ? new Response("busy", { status: 503, headers: { "Retry-After": "1" } }) : undefined,
    );
    await withStore(async (store) => {
      const start = Date.now();
      expect((await pullImage(store, `${proxy!.domain}/test/app:v1`)).image.id).toBe(image.configDigest);
      expect(Date.now() - start).toBeGreaterThanOrEqual(950);
    });
    expect(proxy.seen.filter((r) => r.path.endsWith(layer().digest))).toHaveLength(2);
  });

  test("a connection cut mid-blob resumes with a Range request", async () => {
    proxy = startProxy(registry.url, async (req, forward, count) => {
      if (!isLayerBlob(req) || count > 1) return undefined;
      const bytes = new Uint8Array(await (await forward()).arrayBuffer());
      const half = bytes.subarray(0, bytes.length >> 1);
      // Send half the blob, then fail the body: the client sees a broken stream.
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(half);
        },
        async pull(controller) {
          await Bun.sleep(20);
          controller.error(new Error("connection reset"));
        },
      });
      return new Response(body, { headers: { "Content-Length": String(bytes.length) } });
    });
    await withStore(async (store) => {
      expect((await pullImage(store, `${proxy!.domain}/test/app:v1`)).image.id).toBe(image.configDigest);
      expect(store.hasLayer(layer().diffId)).toBe(true);
    });
    const ranges = proxy.seen.filter((r) => r.path.endsWith(layer().digest)).map((r) => r.range);
    expect(ranges).toHaveLength(2);
    expect(ranges[0]).toBeNull();
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Number(ranges[1]!.slice(6, -1))).toBeGreaterThan(0);
  });
});
