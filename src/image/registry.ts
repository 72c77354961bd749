/**
 * A client for the Distribution v2 API (the OCI distribution spec): manifests
 * by tag or digest with their exact bytes, blobs as resumable streams, and
 * uploads. Authentication follows the 401 challenge (bearer tokens per scope,
 * or basic); transient failures (network, 429, 5xx) are retried with
 * exponential backoff that honours Retry-After.
 */
import { existsSync, readFileSync } from "node:fs";
import { ContainrError } from "../diag/errors.ts";
import { log } from "../diag/log.ts";
import { basicAuthorization, parseChallenge, TokenCache, unauthorized, type Challenge } from "./auth.ts";
import { lookupCredentials, type Credentials } from "./credentials.ts";
import { MANIFEST_ACCEPT, sha256Digest } from "./manifest.ts";
import { isLoopbackRegistry, registryHost } from "./reference.ts";

export interface RegistryOptions {
  /** false: accept plain http and unverified certificates (--tls-verify=false) */
  tlsVerify?: boolean;
  /** credentials given on the command line; otherwise looked up from the auth files */
  credentials?: Credentials;
  /** abort a blob download after this long without a byte (ms) */
  idleTimeoutMs?: number;
  /** attempts for one request or one blob, the first included */
  maxAttempts?: number;
}

export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

/** Insecure registries listed in a config file: { "insecure-registries": ["host:port", ...] }. */
export function registriesConfigFile(): string {
  return process.env.CONTAINR_REGISTRIES_CONF || "/etc/containr/registries.json";
}

function listedInsecure(domain: string): boolean {
  const path = registriesConfigFile();
  if (!existsSync(path)) return false;
  let conf: { "insecure-registries"?: unknown };
  try {
    conf = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ContainrError("INVALID_CONFIG", `${path}: not valid JSON`, { cause: err });
  }
  const list = conf["insecure-registries"];
  if (list !== undefined && !Array.isArray(list)) throw new ContainrError("INVALID_CONFIG", `${path}: "insecure-registries" must be a list of host[:port]`);
  return (list ?? []).includes(domain);
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_ATTEMPTS = 5;
const MAX_BACKOFF_MS = 30_000;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Delay before attempt n (1-based retries): Retry-After when the server gave one, else 250 ms · 2^n with jitter. */
export function retryDelay(attempt: number, retryAfter: string | null): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
    if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), MAX_BACKOFF_MS);
  }
  return Math.min(250 * 2 ** (attempt - 1) * (0.75 + Math.random() / 2), MAX_BACKOFF_MS);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface RegistryErrorBody {
  errors?: { code?: string; message?: string; detail?: unknown }[];
}

async function errorSummary(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as RegistryErrorBody;
    const first = body.errors?.[0];
    if (first) return [first.code, first.message].filter(Boolean).join(": ");
  } catch {
    // Not the registry's JSON error shape: show the status alone.
  }
  return `${res.status} ${res.statusText}`;
}

/** What blobStream needs of a response body's reader (Bun's and node's web-stream types differ). */
interface ByteReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}

export interface RequestSpec {
  method?: string;
  /** path after the base URL (/v2/...), or an absolute URL (upload locations) */
  path: string;
  /** the repository and actions the request needs, for the token scope */
  repository?: string;
  actions?: ("pull" | "push")[];
  headers?: Record<string, string>;
  /** made anew for each attempt, since a consumed body cannot be resent */
  body?: () => RequestInit["body"];
  signal?: AbortSignal;
}

export class RegistryClient {
  /** the domain as users write it (docker.io, host:5000): used in messages and credential lookup */
  readonly domain: string;
  private readonly host: string;
  private readonly tlsVerify: boolean;
  private scheme: "http" | "https";
  private readonly tokens = new TokenCache();
  private challenge: Challenge | undefined;
  private credentials: Credentials | undefined;
  private credentialsLoaded: boolean;
  private readonly idleTimeoutMs: number;
  private readonly maxAttempts: number;

  constructor(domain: string, options: RegistryOptions = {}) {
    this.domain = domain;
    this.host = registryHost(domain);
    const insecure = options.tlsVerify === false || listedInsecure(domain);
    this.tlsVerify = !insecure;
    this.scheme = isLoopbackRegistry(domain) ? "http" : "https";
    this.credentials = options.credentials;
    this.credentialsLoaded = options.credentials !== undefined;
    this.idleTimeoutMs = options.idleTimeoutMs ?? (Number(process.env.CONTAINR_REGISTRY_IDLE_TIMEOUT_MS) || DEFAULT_IDLE_TIMEOUT_MS);
    this.maxAttempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
  }

  get baseUrl(): string {
    return `${this.scheme}://${this.host}`;
  }

  private async creds(): Promise<Credentials | undefined> {
    if (!this.credentialsLoaded) {
      this.credentials = await lookupCredentials(this.domain);
      this.credentialsLoaded = true;
    }
    return this.credentials;
  }

  private scopeOf(spec: RequestSpec): string {
    return spec.repository ? `repository:${spec.repository}:${(spec.actions ?? ["pull"]).join(",")}` : "";
  }

  private async authorization(scope: string): Promise<string | undefined> {
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === "basic") {
      const creds = await this.creds();
      return creds ? basicAuthorization(creds) : undefined;
    }
    const cached = this.tokens.get(scope);
    if (cached) return `Bearer ${cached}`;
    return `Bearer ${await this.tokens.fetch(this.domain, this.challenge, scope, await this.creds())}`;
  }

  private fetchOnce(url: string, spec: RequestSpec, auth: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { ...spec.headers };
    if (auth) headers.Authorization = auth;
    return fetch(url, {
      method: spec.method ?? "GET",
      headers,
      body: spec.body?.() ?? null,
      signal: spec.signal,
      redirect: "follow",
      // Bun's fetch drops Authorization on a cross-origin redirect (blob storage), keeping it same-origin.
      tls: this.tlsVerify ? undefined : { rejectUnauthorized: false },
    } as RequestInit);
  }

  /**
   * One API request with authentication and retries. The caller gets every
   * answer except 401 (handled here) and retryable failures (retried, then
   * REGISTRY_UNREACHABLE).
   */
  async request(spec: RequestSpec): Promise<Response> {
    const scope = this.scopeOf(spec);
    const url = spec.path.startsWith("http") ? spec.path : `${this.baseUrl}${spec.path}`;
    let refreshedAuth = false;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchOnce(url, spec, await this.authorization(scope));
      } catch (err) {
        if (err instanceof ContainrError) throw err;
        if (spec.signal?.aborted) throw err;
        if (attempt >= this.maxAttempts) {
          throw new ContainrError("REGISTRY_UNREACHABLE", `${this.domain}: ${spec.method ?? "GET"} ${url}: ${err instanceof Error ? err.message : String(err)}`, {
            cause: err,
            hint: this.scheme === "https" && !this.tlsVerify ? undefined : "check the registry address; a registry without TLS needs --tls-verify=false",
          });
        }
        const delay = retryDelay(attempt, null);
        log.debug(`${this.domain}: ${err instanceof Error ? err.message : String(err)}; retrying in ${Math.round(delay)} ms`);
        await sleep(delay);
        continue;
      }
      if (res.status === 401) {
        const challenge = parseChallenge(res.headers.get("www-authenticate") ?? "");
        await res.body?.cancel();
        const hadCreds = (await this.creds()) !== undefined;
        // A first challenge, or a cached token the registry no longer takes: authenticate once more.
        if (challenge && !refreshedAuth) {
          refreshedAuth = true;
          this.challenge = challenge;
          this.tokens.forget(scope);
          if (challenge.scheme === "basic" && !hadCreds) throw unauthorized(this.domain, false);
          attempt--;
          continue;
        }
        throw unauthorized(this.domain, hadCreds);
      }
      if (isRetryableStatus(res.status) && attempt < this.maxAttempts) {
        const delay = retryDelay(attempt, res.headers.get("retry-after"));
        log.debug(`${this.domain}: ${res.status} for ${url}; retrying in ${Math.round(delay)} ms`);
        await res.body?.cancel();
        await sleep(delay);
        continue;
      }
      if (isRetryableStatus(res.status)) {
        throw new ContainrError("REGISTRY_UNREACHABLE", `${this.domain}: ${spec.method ?? "GET"} ${url}: ${await errorSummary(res)}`, {
          hint: "the registry failed; retry later",
        });
      }
      return res;
    }
  }

  /**
   * GET /v2/ with authentication: proves the registry is one, and (as `docker
   * login` checks) that the credentials are accepted.
   */
  async ping(): Promise<void> {
    const res = await this.request({ path: "/v2/" });
    await res.body?.cancel();
    if (!res.ok) throw new ContainrError("REGISTRY_UNREACHABLE", `${this.domain}: /v2/ answered ${res.status}: not a Docker/OCI registry`);
  }

  /**
   * A manifest by tag or digest, with its exact bytes, checked against the
   * digest asked for or the Docker-Content-Digest the registry announced.
   */
  async getManifest(repository: string, reference: string, displayName: string): Promise<FetchedManifest> {
    const res = await this.request({
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      headers: { Accept: MANIFEST_ACCEPT },
    });
    if (res.status === 404) {
      const summary = await errorSummary(res);
      throw new ContainrError("IMAGE_NOT_FOUND", `${displayName}: manifest unknown${/manifest unknown/i.test(summary) ? "" : ` (${summary})`}`, {
        hint: "check the name and tag; the registry has no such image",
      });
    }
    if (res.status === 403) throw unauthorized(this.domain, (await this.creds()) !== undefined);
    if (!res.ok) throw new ContainrError("REGISTRY_UNREACHABLE", `${displayName}: manifest request failed: ${await errorSummary(res)}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > MAX_MANIFEST_BYTES) throw new ContainrError("INVALID_CONFIG", `${displayName}: manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
    const digest = sha256Digest(bytes);
    const expected = reference.startsWith("sha256:") ? reference : res.headers.get("docker-content-digest");
    if (expected && expected !== digest) {
      throw new ContainrError("DIGEST_MISMATCH", `${displayName}: manifest has digest ${digest}, expected ${expected}`, {
        hint: "pull again; if it persists the registry serves corrupt content",
      });
    }
    return { bytes, mediaType: res.headers.get("content-type")?.split(";")[0]?.trim() ?? "", digest };
  }

  /** A small blob (an image config) in memory. The caller checks its digest. */
  async getBlobBytes(repository: string, digest: string, maxBytes: number): Promise<Uint8Array> {
    const res = await this.request({ path: `/v2/${repository}/blobs/${digest}`, repository });
    if (res.status === 404) throw new ContainrError("IMAGE_NOT_FOUND", `${this.domain}/${repository}: blob ${digest} unknown to the registry`);
    if (!res.ok) throw new ContainrError("REGISTRY_UNREACHABLE", `${this.domain}/${repository}: blob ${digest}: ${await errorSummary(res)}`);
    const length = Number(res.headers.get("content-length") ?? 0);
    if (length > maxBytes) throw new ContainrError("INVALID_CONFIG", `${this.domain}/${repository}: blob ${digest} is larger than ${maxBytes} bytes`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /**
   * A blob as one stream of bytes from `offset`. Behind it, a failed or
   * stalled connection (no byte for idleTimeoutMs) is replaced by a new
   * request with `Range: bytes=N-` that continues where the last one
   * stopped, with backoff, so the consumer sees a single uninterrupted stream.
   */
  blobStream(repository: string, digest: string, offset: number): ReadableStream<Uint8Array> {
    let position = offset;
    let reader: ByteReader | undefined;
    let abort: AbortController | undefined;
    /** bytes of a 200 answer to skip when the server ignored our Range */
    let skip = 0;
    let failures = 0;
    const where = `${this.domain}/${repository}: blob ${digest}`;

    const open = async () => {
      abort = new AbortController();
      const headers: Record<string, string> = position > 0 ? { Range: `bytes=${position}-` } : {};
      const res = await this.request({ path: `/v2/${repository}/blobs/${digest}`, repository, headers, signal: abort.signal });
      if (res.status === 404) throw new ContainrError("IMAGE_NOT_FOUND", `${where} unknown to the registry`);
      if (res.status === 416) throw new ContainrError("DIGEST_MISMATCH", `${where}: the registry has fewer bytes than the ${position} already received`);
      if (!res.ok || !res.body) throw new ContainrError("REGISTRY_UNREACHABLE", `${where}: ${await errorSummary(res)}`);
      skip = position > 0 && res.status !== 206 ? position : 0;
      reader = res.body.getReader();
    };

    const readWithIdleTimeout = async (r: ByteReader) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          abort?.abort();
          reject(new ContainrError("TIMEOUT", `${where}: no data for ${this.idleTimeoutMs / 1000} s`));
        }, this.idleTimeoutMs);
      });
      try {
        return await Promise.race([r.read(), idle]);
      } finally {
        clearTimeout(timer);
      }
    };

    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          for (;;) {
            try {
              if (!reader) await open();
              const { done, value } = await readWithIdleTimeout(reader!);
              if (done || !value) {
                controller.close();
                return;
              }
              let chunk = value;
              if (skip > 0) {
                const drop = Math.min(skip, chunk.length);
                skip -= drop;
                chunk = chunk.subarray(drop);
                if (chunk.length === 0) continue;
              }
              position += chunk.length;
              failures = 0;
              controller.enqueue(chunk);
              return;
            } catch (err) {
              reader?.cancel().catch(() => {});
              reader = undefined;
              const permanent = err instanceof ContainrError && !["TIMEOUT", "REGISTRY_UNREACHABLE"].includes(err.code);
              failures++;
              if (permanent || failures >= this.maxAttempts) throw err instanceof ContainrError ? err : new ContainrError("REGISTRY_UNREACHABLE", `${where}: ${String(err)}`, { cause: err });
              const delay = retryDelay(failures, null);
              log.debug(`${where}: ${err instanceof Error ? err.message : String(err)}; resuming at byte ${position} in ${Math.round(delay)} ms`);
              await sleep(delay);
            }
          }
        },
        cancel: () => {
          abort?.abort();
          reader?.cancel().catch(() => {});
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Does the registry hold this blob? */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.request({ method: "HEAD", path: `/v2/${repository}/blobs/${digest}`, repository, actions: ["pull", "push"] });
    await res.body?.cancel();
    if (res.status === 404) return false;
    if (res.ok) return true;
    throw new ContainrError("REGISTRY_UNREACHABLE", `${this.domain}/${repository}: HEAD blob ${digest}: ${res.status} ${res.statusText}`);
  }

  private uploadUrl(location: string | null, what: string): URL {
    if (!location) throw new ContainrError("REGISTRY_UNREACHABLE", `${what}: the registry gave no upload location`);
    return new URL(location, this.baseUrl);
  }

  /**
   * Upload a blob from a file: POST to open an upload, then one PUT with the
   * whole blob (monolithic), or PATCH chunks with Content-Range and a final
   * PUT when the blob is larger than `chunkSize`.
   */
  async uploadBlob(repository: string, digest: string, file: string, size: number, chunkSize: number): Promise<void> {
    const what = `${this.domain}/${repository}: upload ${digest}`;
    const scope = { repository, actions: ["pull", "push"] as ("pull" | "push")[] };
    const start = await this.request({ method: "POST", path: `/v2/${repository}/blobs/uploads/`, ...scope, headers: { "Content-Length": "0" } });
    if (start.status !== 202) throw new ContainrError("REGISTRY_UNREACHABLE", `${what}: ${await errorSummary(start)}`);
    await start.body?.cancel();
    let url = this.uploadUrl(start.headers.get("location"), what);
    if (size > chunkSize) {
      for (let offset = 0; offset < size; offset += chunkSize) {
        const end = Math.min(offset + chunkSize, size);
        const res = await this.request({
          method: "PATCH",
          path: url.href,
          ...scope,
          headers: { "Content-Type": "application/octet-stream", "Content-Range": `${offset}-${end - 1}`, "Content-Length": String(end - offset) },
          body: () => Bun.file(file).slice(offset, end),
        });
        if (res.status !== 202) throw new ContainrError("REGISTRY_UNREACHABLE", `${what}: chunk at ${offset}: ${await errorSummary(res)}`);
        await res.body?.cancel();
        url = this.uploadUrl(res.headers.get("location"), what);
      }
      url.searchParams.set("digest", digest);
      const done = await this.request({ method: "PUT", path: url.href, ...scope, headers: { "Content-Length": "0" } });
      if (done.status !== 201) throw new ContainrError("REGISTRY_UNREACHABLE", `${what}: ${await errorSummary(done)}`);
      await done.body?.cancel();
      return;
    }
    url.searchParams.set("digest", digest);
    const res = await this.request({
      method: "PUT",
      path: url.href,
      ...scope,
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) },
      body: () => Bun.file(file),
    });
    if (res.status !== 201) throw new ContainrError("REGISTRY_UNREACHABLE", `${what}: ${await errorSummary(res)}`);
    await res.body?.cancel();
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry computed. */
  async putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const res = await this.request({
      method: "PUT",
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      actions: ["pull", "push"],
      headers: { "Content-Type": mediaType },
      body: () => bytes,
    });
    if (res.status !== 201) throw new ContainrError("REGISTRY_UNREACHABLE", `${this.domain}/${repository}: manifest PUT: ${await errorSummary(res)}`);
    await res.body?.cancel();
    return res.headers.get("docker-content-digest") ?? sha256Digest(bytes);
  }
}
