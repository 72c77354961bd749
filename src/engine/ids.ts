/**
 * Container ids and names, and how a user's argument finds its container,
 * all as dockerd does it:
 *
 * - an id is 32 random bytes from the OS CSPRNG as 64 lower-case hex digits,
 *   redrawn while its first 12 characters are all digits (the short id is the
 *   default hostname, and a hostname must not look like a number);
 * - the short id is the first 12 characters;
 * - a name is ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$ and is stored without the slash;
 * - a reference resolves as an exact full id, then an exact name (with or
 *   without the leading "/"), then a unique id prefix of any length.
 */
import { ContainrError } from "../diag/errors.ts";

export const ID_LENGTH = 64;
export const SHORT_ID_LENGTH = 12;

const FULL_ID = /^[0-9a-f]{64}$/;
const ALL_DIGITS = /^[0-9]+$/;
const HEX = /^[0-9a-f]+$/;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** A fresh container id. */
export function generateId(): string {
  const bytes = new Uint8Array(32);
  for (;;) {
    crypto.getRandomValues(bytes);
    const id = Buffer.from(bytes).toString("hex");
    if (!ALL_DIGITS.test(id.slice(0, SHORT_ID_LENGTH))) return id;
  }
}

/** The 12-character form `ps` shows; drops an "algo:" prefix as Docker's TruncateID does. */
export function shortId(id: string): string {
  const colon = id.indexOf(":");
  const bare = colon === -1 ? id : id.slice(colon + 1);
  return bare.slice(0, SHORT_ID_LENGTH);
}

export function isFullId(value: string): boolean {
  return FULL_ID.test(value);
}

/**
 * Check a --name value and return it without its leading "/". Docker's
 * wording; note that the rule needs at least two characters.
 */
export function validateName(name: string): string {
  const bare = name.startsWith("/") ? name.slice(1) : name;
  if (!NAME.test(bare)) {
    throw new ContainrError(
      "USAGE",
      `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      { hint: "a name starts with a letter or digit and has at least two characters" },
    );
  }
  return bare;
}

/** The error for a name that another container holds, worded as dockerd's. */
export function nameInUse(name: string, ownerId: string): ContainrError {
  return new ContainrError(
    "NAME_IN_USE",
    `Conflict. The container name "/${name}" is already in use by container "${ownerId}". ` +
      "You have to remove (or rename) that container to be able to reuse that name.",
    { hint: `remove it with \`containr rm ${shortId(ownerId)}\`, rename it, or pick another name` },
  );
}

export function containerNotFound(ref: string): ContainrError {
  return new ContainrError("CONTAINER_NOT_FOUND", `No such container: ${ref}`, {
    hint: "list containers with `containr ps -a`",
  });
}

/** What resolveReference needs from a store: three lookups, cheapest first. */
export interface ReferenceIndex<T> {
  byId(id: string): T | undefined;
  byName(name: string): T | undefined;
  /** Entries whose id starts with `prefix` (a lower-case hex string); two are enough to tell ambiguity. */
  byIdPrefix(prefix: string): T[];
}

/**
 * Find the container a user means, in dockerd's order: exact id, exact name,
 * unique id prefix. A name therefore wins over an id prefix that matches
 * another container.
 */
export function resolveReference<T>(ref: string, index: ReferenceIndex<T>): T {
  if (ref === "") {
    throw new ContainrError("USAGE", "invalid container name or ID: value is empty");
  }
  if (isFullId(ref)) {
    const hit = index.byId(ref);
    if (hit !== undefined) return hit;
  }
  const name = ref.startsWith("/") ? ref.slice(1) : ref;
  if (NAME.test(name)) {
    const hit = index.byName(name);
    if (hit !== undefined) return hit;
  }
  if (HEX.test(ref) && ref.length <= ID_LENGTH) {
    const hits = index.byIdPrefix(ref);
    if (hits.length > 1) {
      throw new ContainrError("USAGE", `multiple IDs found with provided prefix: ${ref}`, {
        hint: "give more characters of the id, or the container's name",
      });
    }
    if (hits.length === 1) return hits[0] as T;
  }
  throw containerNotFound(ref);
}
