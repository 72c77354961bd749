import { ERROR_CODES, type ErrorCode } from "./codes.ts";
import { errnoName } from "./errno.ts";

export type { ErrorCode } from "./codes.ts";

export interface ErrorDetails {
  hint?: string;
  /** errno from a failed system call, when the failure has one */
  errno?: number;
  cause?: unknown;
  /** exit status that overrides the code's default (for example a container's own) */
  exit?: number;
}

/**
 * The one error type of containr. `message` is the crun-style chain
 * ("create container: mount /proc: EPERM: Operation not permitted"): each
 * layer that rethrows adds its context in front with `wrap`.
 */
export class ContainrError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly errno: number | undefined;
  readonly exit: number;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ContainrError";
    this.code = code;
    this.hint = details.hint;
    this.errno = details.errno;
    this.exit = details.exit ?? ERROR_CODES[code].exit;
  }

  /** The chain of messages, outermost first, as shown with --log-format json. */
  causeChain(): string[] {
    const chain: string[] = [];
    let cur: unknown = this.cause;
    while (cur instanceof Error) {
      chain.push(cur.message);
      cur = cur.cause;
    }
    return chain;
  }
}

/** Shorthand for `new ContainrError(...)`, for use in expressions. */
export function fail(code: ErrorCode, message: string, details?: ErrorDetails): never {
  throw new ContainrError(code, message, details);
}

/**
 * Put context in front of an error's message, keeping its code and hint:
 * wrap(e, "create container") turns "mount /proc: EPERM" into
 * "create container: mount /proc: EPERM". Foreign errors become INTERNAL,
 * or a code derived from their errno when they carry one (node's fs errors).
 */
export function wrap(err: unknown, context: string): ContainrError {
  const inner = toContainrError(err);
  return new ContainrError(inner.code, `${context}: ${inner.message}`, {
    hint: inner.hint,
    errno: inner.errno,
    exit: inner.exit,
    cause: inner,
  });
}

/** Run fn and wrap whatever it throws with context. */
export async function withContext<T>(context: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw wrap(err, context);
  }
}

/** Same as withContext, for synchronous code. */
export function withContextSync<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw wrap(err, context);
  }
}

interface NodeSystemError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

const ERRNO_CODES: Record<string, ErrorCode> = {
  EACCES: "PERMISSION_DENIED",
  EPERM: "PERMISSION_DENIED",
  ENOSPC: "NO_SPACE",
  EDQUOT: "NO_SPACE",
};

const ROOT_HINT = "run as root (sudo); what works without root is described in docs/rootless.md";

/** Convert anything thrown into a ContainrError, keeping what it already says. */
export function toContainrError(err: unknown): ContainrError {
  if (err instanceof ContainrError) return err;
  if (err instanceof Error) {
    const sys = err as NodeSystemError;
    if (typeof sys.code === "string" && /^E[A-Z0-9]+$/.test(sys.code)) {
      const code = ERRNO_CODES[sys.code] ?? "INTERNAL";
      const what = [sys.syscall, sys.path].filter(Boolean).join(" ");
      const errno = sys.errno === undefined ? undefined : Math.abs(sys.errno);
      return new ContainrError(code, `${what ? `${what}: ` : ""}${sys.code}: ${describeErrno(sys.code)}`, {
        errno,
        cause: err,
        hint: code === "PERMISSION_DENIED" ? ROOT_HINT : undefined,
      });
    }
    return new ContainrError("INTERNAL", err.message, { cause: err });
  }
  return new ContainrError("INTERNAL", String(err));
}

function describeErrno(name: string): string {
  return errnoName.describe(name);
}

/**
 * An error from a system call made through the native layer. The message
 * reads "what: ENAME: description", and the code follows the errno.
 */
export function fromErrno(errno: number, what: string, fallback: ErrorCode = "INTERNAL"): ContainrError {
  const name = errnoName.of(errno);
  const code = ERRNO_CODES[name] ?? fallback;
  return new ContainrError(code, `${what}: ${name}: ${errnoName.describe(name)}`, {
    errno,
    hint: code === "PERMISSION_DENIED" ? ROOT_HINT : undefined,
  });
}

/** Exit status for an error: Docker's for the engine, runc's (1) for the OCI commands. */
export function exitStatusFor(err: ContainrError, style: "engine" | "oci"): number {
  if (style === "oci" && err.exit === 125) return 1;
  return err.exit;
}
