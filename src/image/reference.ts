/**
 * Image references parsed and normalised as Docker does (distribution/reference,
 * ParseNormalizedNamed):
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain "/"] path-component ["/" path-component]*
 *   domain    := host [":" port]        host: DNS name, IPv4, or [IPv6]
 *   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag       := [\w][\w.-]{0,127}
 *   digest    := "sha256:" 64 lower-case hex digits
 *
 * The first component is a domain only if it holds a "." or ":", is
 * "localhost", or has upper-case letters; otherwise the image lives on Docker
 * Hub (docker.io), and a one-component Hub name gets the "library/" prefix.
 */
import { ContainrError } from "../diag/errors.ts";

export const DOCKER_HUB_DOMAIN = "docker.io";
/** Where Docker Hub's registry API actually answers. */
export const DOCKER_HUB_REGISTRY = "registry-1.docker.io";
export const DEFAULT_TAG = "latest";
const MAX_NAME_LENGTH = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface ImageReference {
  /** registry domain as written (docker.io for Docker Hub), with its port */
  domain: string;
  /** repository path inside the registry: "library/alpine", "team/app" */
  path: string;
  tag?: string;
  digest?: string;
}

function invalid(input: string, why: string): ContainrError {
  return new ContainrError("INVALID_REFERENCE", `invalid reference format "${input}": ${why}`, {
    hint: "use NAME[:TAG] or NAME@sha256:DIGEST; repository names are lower case",
  });
}

/** True for a well-formed "sha256:<64 hex>" digest. */
export function isSha256Digest(value: string): boolean {
  return SHA256_DIGEST.test(value);
}

/**
 * Parse a reference the way `docker pull` does. A reference without tag or
 * digest gets ":latest" unless `defaultTag` is false (then it names a
 * repository, as `docker push NAME` and `docker images NAME` use it).
 */
export function parseReference(input: string, options: { defaultTag?: boolean } = {}): ImageReference {
  if (input === "") throw invalid(input, "empty reference");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(input, `"${digest}" is not a digest`);
    if (!digest.startsWith("sha256:")) throw invalid(input, `unsupported digest algorithm "${digest.split(":")[0]}" (only sha256)`);
    if (!SHA256_DIGEST.test(digest)) throw invalid(input, `a sha256 digest has 64 lower-case hex digits`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `"${tag}" is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }
  if (rest === "") throw invalid(input, "no repository name");

  let domain = DOCKER_HUB_DOMAIN;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === "index.docker.io") domain = DOCKER_HUB_DOMAIN;
  if (!DOMAIN.test(domain)) throw invalid(input, `"${domain}" is not a valid registry host`);
  if (path !== path.toLowerCase()) throw invalid(input, "repository name must be lowercase");
  for (const component of path.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(input, `"${component}" is not a valid path component (lower-case letters and digits, separated by . _ __ or -)`);
    }
  }
  if (domain === DOCKER_HUB_DOMAIN && !path.includes("/")) path = `library/${path}`;
  if (`${domain}/${path}`.length > MAX_NAME_LENGTH) throw invalid(input, `repository name longer than ${MAX_NAME_LENGTH} characters`);
  if (tag === undefined && digest === undefined && options.defaultTag !== false) tag = DEFAULT_TAG;
  return { domain, path, tag, digest };
}

/** The full repository name: "docker.io/library/alpine". */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full reference: "docker.io/library/alpine:latest", "host:5000/a/b@sha256:...". */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** The repository name as Docker shows it: "alpine", "user/app", "127.0.0.1:5000/app". */
export function familiarName(ref: Pick<ImageReference, "domain" | "path">): string {
  if (ref.domain !== DOCKER_HUB_DOMAIN) return `${ref.domain}/${ref.path}`;
  const path = ref.path.startsWith("library/") && ref.path.split("/").length === 2 ? ref.path.slice("library/".length) : ref.path;
  return path;
}

/** The host:port the registry API answers on (Docker Hub's API is not at docker.io). */
export function registryHost(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_REGISTRY : domain;
}

/**
 * Loopback registries are reached over plain http, as Docker allows them
 * without configuration: localhost, 127.0.0.0/8 and ::1, with any port.
 */
export function isLoopbackRegistry(domain: string): boolean {
  const host = hostOf(domain);
  if (host === "localhost" || host === "::1") return true;
  const octets = host.split(".");
  return octets.length === 4 && octets[0] === "127" && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) < 256);
}

/** The host of "host:port" or "[v6]:port", without brackets or port. */
export function hostOf(domain: string): string {
  if (domain.startsWith("[")) return domain.slice(1, domain.indexOf("]"));
  const colon = domain.lastIndexOf(":");
  return colon === -1 ? domain : domain.slice(0, colon);
}
