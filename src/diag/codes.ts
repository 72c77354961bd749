/**
 * Every error code containr reports. A code is stable: scripts match on it.
 * `exit` is the status the engine commands (run, pull, ...) exit with, as
 * Docker's: 125 engine error, 126 cannot execute, 127 not found. The OCI
 * commands map 125 to runc's 1 (see exitStatusFor in errors.ts).
 * docs/errors.md documents each code; tests/unit/diag-docs.test.ts keeps
 * the two in step.
 */
export const ERROR_CODES = {
  USAGE: { exit: 125, summary: "the command line is invalid" },
  INVALID_CONFIG: { exit: 125, summary: "a configuration file or field is invalid" },
  CONFIG_NOT_FOUND: { exit: 125, summary: "a configuration file or bundle does not exist" },
  ROOTFS_NOT_FOUND: { exit: 125, summary: "the container's root filesystem does not exist" },
  EXECUTABLE_NOT_FOUND: { exit: 127, summary: "the container's command does not exist" },
  CANNOT_EXEC: { exit: 126, summary: "the container's command exists but cannot be executed" },
  CONTAINER_NOT_FOUND: { exit: 125, summary: "no container has that id or name" },
  CONTAINER_EXISTS: { exit: 125, summary: "a container with that id already exists" },
  NAME_IN_USE: { exit: 125, summary: "a container with that name already exists" },
  INVALID_STATE: { exit: 125, summary: "the container is not in a state that allows the operation" },
  PERMISSION_DENIED: { exit: 125, summary: "the operation needs privileges the caller does not have" },
  CGROUP_UNAVAILABLE: { exit: 125, summary: "a cgroup or cgroup controller cannot be used" },
  NAMESPACE_FAILED: { exit: 125, summary: "a namespace could not be created or joined" },
  MOUNT_FAILED: { exit: 125, summary: "a mount inside the container failed" },
  CONTAINER_INIT_FAILED: { exit: 125, summary: "setting up the container process failed" },
  NATIVE_UNAVAILABLE: { exit: 125, summary: "the embedded native helpers could not be loaded" },
  INVALID_REFERENCE: { exit: 125, summary: "an image reference is malformed" },
  IMAGE_NOT_FOUND: { exit: 125, summary: "no such image locally or in the registry" },
  REGISTRY_UNAUTHORIZED: { exit: 125, summary: "the registry refused the credentials" },
  REGISTRY_UNREACHABLE: { exit: 125, summary: "the registry could not be reached or answered with an error" },
  DIGEST_MISMATCH: { exit: 125, summary: "downloaded content does not match its digest" },
  VOLUME_NOT_FOUND: { exit: 125, summary: "no volume has that name" },
  VOLUME_IN_USE: { exit: 125, summary: "a container uses the volume" },
  NETWORK_NOT_FOUND: { exit: 125, summary: "no network has that name or id" },
  NETWORK_IN_USE: { exit: 125, summary: "a container uses the network, or it is a built-in one" },
  NETWORK_CONFLICT: { exit: 125, summary: "a network with that name exists, or its subnet overlaps another" },
  PATH_NOT_FOUND: { exit: 125, summary: "a path does not exist in the container or on the host" },
  UNSAFE_PATH: { exit: 125, summary: "a path tries to escape the directory it belongs to" },
  INVALID_ARCHIVE: { exit: 125, summary: "a tar archive is malformed, truncated or uses an unsupported feature" },
  NO_SPACE: { exit: 125, summary: "the disk is full" },
  NETWORK_FAILED: { exit: 125, summary: "setting up the container's network failed" },
  PORT_ALLOCATED: { exit: 125, summary: "a host port to publish is already in use" },
  TIMEOUT: { exit: 125, summary: "an operation did not finish in time" },
  INTERNAL: { exit: 125, summary: "an unexpected internal failure (a bug)" },
} as const satisfies Record<string, { exit: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
