/**
 * A real registry for tests: Debian's docker-registry (distribution 2.8) on
 * 127.0.0.1 at a free port, anonymous, with basic auth (htpasswd -B), or
 * with Docker's token auth served by a small token server in the test
 * process that signs RS256 JWTs with a self-made certificate the registry
 * trusts (TEST-HOST-RECIPES.md).
 */
import { spawnSync, type Subprocess } from "bun";
import { createPrivateKey, createSign, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REGISTRY_BINARY = "/usr/bin/docker-registry";

export interface TestRegistry {
  /** "127.0.0.1:PORT": what an image reference starts with */
  domain: string;
  url: string;
  /** Authorization header value for pushes made by the helpers (undefined when anonymous) */
  authFor(repository: string, actions?: string[]): Promise<string | undefined>;
  stop(): Promise<void>;
  /** the token server, for token-auth registries */
  tokenServer?: TokenServer;
}

export interface TokenServer {
  url: string;
  /** token requests seen: scope and whether credentials came with it */
  requests: { scope: string | null; user: string | null }[];
  stop(): void;
}

export type RegistryAuth = { kind: "none" } | { kind: "basic"; user: string; password: string } | { kind: "token"; user: string; password: string };

/** A port that was free a moment ago. */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

function run(cmd: string[], cwd?: string): string {
  const res = spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (res.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${res.stderr.toString()}`);
  return res.stdout.toString();
}

async function waitForRegistry(url: string, proc: Subprocess, logFile: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited: ${readFileSync(logFile, "utf8")}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }
  throw new Error(`docker-registry did not answer at ${url}: ${readFileSync(logFile, "utf8")}`);
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

/** A JWT the registry accepts: RS256, the certificate in x5c, Docker's access claim. */
function signToken(keyPem: string, certDer: Buffer, claims: Record<string, unknown>): string {
  const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT", x5c: [certDer.toString("base64")] }));
  const payload = base64url(JSON.stringify(claims));
  const signer = createSign("RSA-SHA256");
  signer.update(`${header}.${payload}`);
  return `${header}.${payload}.${base64url(signer.sign(createPrivateKey(keyPem)))}`;
}

function startTokenServer(dir: string, user: string, password: string, service: string, issuer: string): TokenServer {
  run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=containr-test-token"], dir);
  const keyPem = readFileSync(join(dir, "key.pem"), "utf8");
  const certPem = readFileSync(join(dir, "cert.pem"), "utf8");
  const certDer = Buffer.from(certPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  const requests: TokenServer["requests"] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      const scope = url.searchParams.get("scope");
      const auth = req.headers.get("authorization");
      let who: string | null = null;
      if (auth?.startsWith("Basic ")) {
        const [u, p] = Buffer.from(auth.slice(6), "base64").toString().split(":");
        if (u !== user || p !== password) {
          requests.push({ scope, user: u ?? null });
          return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }, { status: 401 });
        }
        who = u;
      }
      requests.push({ scope, user: who });
      // Anonymous callers get a token that grants nothing: the registry then refuses them.
      const access = who
        ? (scope ?? "")
            .split(" ")
            .filter(Boolean)
            .map((s) => {
              const [type, name, actions] = s.split(":");
              return { type, name, actions: (actions ?? "").split(",") };
            })
        : [];
      const now = Math.floor(Date.now() / 1000);
      const token = signToken(keyPem, certDer, { iss: issuer, sub: who ?? "", aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access });
      return Response.json({ token, access_token: token, expires_in: 300 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/token`, requests, stop: () => server.stop(true) };
}

/** Start docker-registry on 127.0.0.1; stop() kills it and removes its storage. */
export async function startRegistry(auth: RegistryAuth = { kind: "none" }): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "containr-registry-"));
  const port = freePort();
  const domain = `127.0.0.1:${port}`;
  const url = `http://${domain}`;
  const lines = [
    "version: 0.1",
    "log:",
    "  level: warn",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${join(dir, "data")}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: ${domain}`,
  ];
  let tokenServer: TokenServer | undefined;
  if (auth.kind === "basic") {
    writeFileSync(join(dir, "htpasswd"), run(["htpasswd", "-Bbn", auth.user, auth.password]));
    lines.push("auth:", "  htpasswd:", "    realm: containr-test", `    path: ${join(dir, "htpasswd")}`);
  } else if (auth.kind === "token") {
    tokenServer = startTokenServer(dir, auth.user, auth.password, "containr-test-registry", "containr-test-issuer");
    lines.push(
      "auth:",
      "  token:",
      `    realm: ${tokenServer.url}`,
      "    service: containr-test-registry",
      "    issuer: containr-test-issuer",
      `    rootcertbundle: ${join(dir, "cert.pem")}`,
    );
  }
  writeFileSync(join(dir, "config.yml"), `${lines.join("\n")}\n`);
  const logFile = join(dir, "registry.log");
  const proc = Bun.spawn([REGISTRY_BINARY, "serve", join(dir, "config.yml")], {
    stdout: Bun.file(logFile),
    stderr: Bun.file(logFile),
  });
  try {
    await waitForRegistry(url, proc, logFile);
  } catch (err) {
    proc.kill();
    tokenServer?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const authFor = async (repository: string, actions = ["pull", "push"]): Promise<string | undefined> => {
    if (auth.kind === "basic") return `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}`;
    if (auth.kind === "token") {
      const res = await fetch(`${tokenServer!.url}?service=containr-test-registry&scope=repository:${repository}:${actions.join(",")}`, {
        headers: { Authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}` },
      });
      return `Bearer ${((await res.json()) as { token: string }).token}`;
    }
    return undefined;
  };

  return {
    domain,
    url,
    authFor,
    tokenServer,
    async stop() {
      proc.kill();
      await proc.exited;
      tokenServer?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestProxy {
  domain: string;
  url: string;
  /** requests seen: method, path, Range and Authorization headers */
  seen: { method: string; path: string; range: string | null; authorization: string | null }[];
  stop(): void;
}

/**
 * A proxy in front of a registry, for failures a real registry does not
 * make: `intercept` may answer a request itself (corrupt, slow, cut or
 * redirected blobs, 503s); otherwise the request goes upstream unchanged.
 */
export function startProxy(
  upstream: string,
  intercept: (req: Request, forward: () => Promise<Response>, count: number) => Promise<Response | undefined> | Response | undefined = () => undefined,
): TestProxy {
  const seen: TestProxy["seen"] = [];
  const counts = new Map<string, number>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      seen.push({ method: req.method, path: url.pathname, range: req.headers.get("range"), authorization: req.headers.get("authorization") });
      const key = `${req.method} ${url.pathname}`;
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      const forward = async () => {
        const headers = new Headers(req.headers);
        headers.delete("host");
        const res = await fetch(`${upstream}${url.pathname}${url.search}`, {
          method: req.method,
          headers,
          body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
          redirect: "manual",
        });
        const out = new Headers(res.headers);
        out.delete("content-encoding");
        return new Response(req.method === "HEAD" ? null : res.body, { status: res.status, headers: out });
      };
      return (await intercept(req, forward, count)) ?? (await forward());
    },
  });
  const domain = `127.0.0.1:${server.port}`;
  return { domain, url: `http://${domain}`, seen, stop: () => server.stop(true) };
}

/** A response whose body is `body` sent at about `bytesPerSecond`. */
export function throttled(res: Response, bytesPerSecond: number): Response {
  const reader = res.body!.getReader();
  const slice = Math.max(1024, Math.floor(bytesPerSecond / 20));
  let pending: Uint8Array | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!pending || pending.length === 0) {
        const { done, value } = await reader.read();
        if (done || !value) return controller.close();
        pending = value;
      }
      const chunk: Uint8Array = pending!;
      controller.enqueue(chunk.subarray(0, slice));
      pending = chunk.subarray(slice);
      await Bun.sleep(50);
    },
    cancel: () => reader.cancel(),
  });
  return new Response(body, { status: res.status, headers: res.headers });
}
