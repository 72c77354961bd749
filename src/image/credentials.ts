/**
 * Registry credentials.
 *
 * `containr login` writes $XDG_CONFIG_HOME/containr/auth.json (default
 * ~/.config/containr/auth.json, mode 0600) in the "auths" format Docker and
 * Podman share: { "auths": { "HOST": { "auth": base64("user:pass") } } }.
 * Our own file keeps containr from rewriting a Docker user's config.json.
 *
 * Lookup, first match wins: containr's auth.json, then Docker's config.json
 * ($DOCKER_CONFIG/config.json or ~/.docker/config.json): credHelpers[HOST],
 * credsStore, then auths. Helpers are the docker-credential-NAME programs of
 * Docker's protocol: `get` with the server URL on stdin, {"Username",
 * "Secret"} on stdout.
 */
import { replaceFile } from "../native/replace-file.ts";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { ContainrError } from "../diag/errors.ts";
import { log } from "../diag/log.ts";
import { DOCKER_HUB_DOMAIN, DOCKER_HUB_REGISTRY } from "./reference.ts";

export interface Credentials {
  username: string;
  password: string;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

/** Docker keys Docker Hub's credentials by its old v1 index URL. */
const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

export function containrAuthFile(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "containr", "auth.json");
}

export function dockerConfigFile(): string {
  return join(process.env.DOCKER_CONFIG || join(homedir(), ".docker"), "config.json");
}

/** The key of a registry in an auths map, as Docker writes it. */
function authKey(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN || domain === DOCKER_HUB_REGISTRY ? DOCKER_HUB_AUTH_KEY : domain;
}

/** "https://host:5000/v1/" → "host:5000": Docker matches auths keys this way. */
function keyHost(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, "").split("/")[0] ?? key;
  return host === "index.docker.io" || host === DOCKER_HUB_REGISTRY ? DOCKER_HUB_DOMAIN : host;
}

function readAuthFile(path: string): AuthFile | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as AuthFile;
  } catch (err) {
    throw new ContainrError("INVALID_CONFIG", `${path}: not valid JSON`, { cause: err, hint: "fix or remove the file" });
  }
}

function decodeAuth(entry: NonNullable<AuthFile["auths"]>[string], path: string, key: string): Credentials | undefined {
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon === -1) throw new ContainrError("INVALID_CONFIG", `${path}: auths["${key}"].auth is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  return undefined;
}

function fromAuths(file: AuthFile, path: string, domain: string): Credentials | undefined {
  for (const [key, entry] of Object.entries(file.auths ?? {})) {
    if (keyHost(key) === (domain === DOCKER_HUB_REGISTRY ? DOCKER_HUB_DOMAIN : domain)) {
      const creds = decodeAuth(entry, path, key);
      if (creds) return creds;
    }
  }
  return undefined;
}

async function fromHelper(helper: string, domain: string): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const exe = Bun.which(program, { PATH: process.env.PATH ?? "" });
  if (!exe) {
    log.debug(`credential helper ${program} is configured but not installed; skipping it`);
    return undefined;
  }
  const proc = Bun.spawn([exe, "get"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  proc.stdin.write(authKey(domain));
  await proc.stdin.end();
  const [out, err, status] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (status !== 0) {
    // The protocol's "not found" answer is a failure with this text.
    if (/credentials not found/i.test(out + err)) return undefined;
    throw new ContainrError("REGISTRY_UNAUTHORIZED", `credential helper ${program} failed for ${domain}: ${(out + err).trim() || `exit status ${status}`}`);
  }
  let answer: { Username?: string; Secret?: string };
  try {
    answer = JSON.parse(out);
  } catch {
    throw new ContainrError("REGISTRY_UNAUTHORIZED", `credential helper ${program} answered with invalid JSON for ${domain}`);
  }
  if (!answer.Username || !answer.Secret) return undefined;
  if (answer.Username === "<token>") {
    log.debug(`credential helper ${program} returned an identity token for ${domain}; containr uses user and password only`);
    return undefined;
  }
  return { username: answer.Username, password: answer.Secret };
}

/** Credentials for a registry domain ("docker.io", "host:5000"), or undefined for anonymous access. */
export async function lookupCredentials(domain: string): Promise<Credentials | undefined> {
  const ownPath = containrAuthFile();
  const own = readAuthFile(ownPath);
  const ownCreds = own && fromAuths(own, ownPath, domain);
  if (ownCreds) return ownCreds;

  const dockerPath = dockerConfigFile();
  const docker = readAuthFile(dockerPath);
  if (!docker) return undefined;
  const helper = docker.credHelpers?.[authKey(domain)] ?? docker.credHelpers?.[domain];
  if (helper) return fromHelper(helper, domain);
  if (docker.credsStore) {
    const stored = await fromHelper(docker.credsStore, domain);
    if (stored) return stored;
  }
  return fromAuths(docker, dockerPath, domain);
}

function writeAuthFile(path: string, file: AuthFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  replaceFile(path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
}

/** Store credentials for a registry in containr's auth.json. */
export function saveCredentials(domain: string, creds: Credentials): string {
  const path = containrAuthFile();
  const file = readAuthFile(path) ?? {};
  file.auths ??= {};
  file.auths[authKey(domain)] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") };
  writeAuthFile(path, file);
  return path;
}

/** Remove a registry's credentials from containr's auth.json; false when none were stored. */
export function removeCredentials(domain: string): boolean {
  const path = containrAuthFile();
  const file = readAuthFile(path);
  const key = authKey(domain);
  if (!file?.auths || !Object.hasOwn(file.auths, key)) return false;
  delete file.auths[key];
  writeAuthFile(path, file);
  return true;
}
