/**
 * Registry authentication: the WWW-Authenticate challenge of a 401 answer,
 * and Docker's token flow (GET realm?service=S&scope=repository:NAME:pull,
 * with basic credentials when we have them), tokens cached per scope until
 * they expire or the registry refuses them.
 */
import { FetchError, ofetch } from "ofetch";
import { ContainrError } from "../diag/errors.ts";
import type { Credentials } from "./credentials.ts";

export interface Challenge {
  scheme: "bearer" | "basic";
  params: Record<string, string>;
}

/**
 * Parse a WWW-Authenticate header (RFC 7235):
 * `Bearer realm="https://auth",service="registry",scope="repository:a:pull"`.
 * Quoted values may hold commas; the first challenge we understand wins.
 */
export function parseChallenge(header: string): Challenge | undefined {
  const re = /\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+|$)((?:\s*,?\s*[A-Za-z0-9_.-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^,\s]*))*)/y;
  let pos = 0;
  while (pos < header.length) {
    re.lastIndex = pos;
    const m = re.exec(header);
    if (!m || m[0].length === 0) break;
    pos = re.lastIndex;
    const scheme = m[1]!.toLowerCase();
    const params: Record<string, string> = {};
    for (const p of (m[2] ?? "").matchAll(/([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
      params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
    }
    if (scheme === "bearer" || scheme === "basic") return { scheme, params };
    while (pos < header.length && /[\s,]/.test(header[pos]!)) pos++;
  }
  return undefined;
}

export function basicAuthorization(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Tokens never live shorter than this, as Docker assumes (the spec's minimum). */
const MIN_TOKEN_LIFETIME_S = 60;

/** Per-registry token cache, keyed by scope. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  get(scope: string): string | undefined {
    const cached = this.tokens.get(scope);
    if (!cached) return undefined;
    if (Date.now() >= cached.expiresAt) {
      this.tokens.delete(scope);
      return undefined;
    }
    return cached.token;
  }

  forget(scope: string): void {
    this.tokens.delete(scope);
  }

  /** Fetch a token for `scope` from the challenge's realm and cache it. */
  async fetch(registry: string, challenge: Challenge, scope: string, creds: Credentials | undefined): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw new ContainrError("REGISTRY_UNREACHABLE", `${registry}: the Bearer challenge names no token realm`);
    const query: Record<string, string> = {};
    if (challenge.params.service) query.service = challenge.params.service;
    if (scope) query.scope = scope;
    if (creds) query.account = creds.username;
    let answer: { token?: string; access_token?: string; expires_in?: number };
    try {
      answer = await ofetch(realm, {
        query,
        headers: creds ? { Authorization: basicAuthorization(creds) } : {},
        responseType: "json",
        retry: 2,
        retryDelay: 500,
        timeout: 30_000,
      });
    } catch (err) {
      if (err instanceof FetchError && (err.status === 401 || err.status === 403)) {
        throw unauthorized(registry, creds !== undefined, err);
      }
      throw new ContainrError("REGISTRY_UNREACHABLE", `${registry}: token request to ${realm} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const token = answer?.token ?? answer?.access_token;
    if (!token) throw new ContainrError("REGISTRY_UNREACHABLE", `${registry}: the token server ${realm} answered without a token`);
    const lifetime = Math.max(answer.expires_in ?? MIN_TOKEN_LIFETIME_S, MIN_TOKEN_LIFETIME_S);
    // Renew a little early so a token does not expire between our check and the registry's.
    this.tokens.set(scope, { token, expiresAt: Date.now() + (lifetime - 10) * 1000 });
    return token;
  }
}

/** REGISTRY_UNAUTHORIZED naming the registry, with the login hint. */
export function unauthorized(registry: string, hadCredentials: boolean, cause?: unknown): ContainrError {
  return new ContainrError(
    "REGISTRY_UNAUTHORIZED",
    hadCredentials ? `${registry}: the registry refused the credentials` : `${registry}: the registry requires authentication`,
    { hint: `log in with 'containr login ${registry}'`, cause },
  );
}
