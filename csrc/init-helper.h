#ifndef CONTAINR_INIT_HELPER_H
#define CONTAINR_INIT_HELPER_H
/*
 * How the CLI hands a container to containr-init (csrc/bin/containr-init/),
 * the small static helper that creates the namespaces and clones the
 * container's init (ADR 0001). containr_spawn (csrc/lib/spawn.c) starts it
 * with posix_spawn and these descriptors:
 *
 *   SPAWN_PLAN_FD    a sealed memfd holding the plan (plan.h)
 *   SPAWN_SYNC_FD    the child's end of the SOCK_SEQPACKET sync socket (sync.h)
 *   SPAWN_CGROUP_FD  an O_DIRECTORY fd of the container's cgroup v2 directory,
 *                    for clone3's CLONE_INTO_CGROUP; absent when not placed so
 *   SPAWN_FIRST_FREE_FD ... + n - 1
 *                    the caller's fds 3 .. 3+n-1 with --preserve-fds n
 *                    (PLAN_PRESERVE_FDS); the init moves them back to 3 ..
 *
 * argv: containr-init SPAWN_ARG_MAGIC <pid of the CLI>. The helper dies with
 * the CLI (PR_SET_PDEATHSIG) and refuses to run when started any other way.
 */
#define SPAWN_PLAN_FD 3
#define SPAWN_SYNC_FD 4
#define SPAWN_CGROUP_FD 5
#define SPAWN_FIRST_FREE_FD 6
/* --preserve-fds is bounded (plan.c checks it) */
#define SPAWN_MAX_PRESERVED_FDS 1024

#define SPAWN_ARG_MAGIC "--containr-spawn-v1"

/* CHILD_PID's stage field carries these flags (the message has no errno). */
#define SPAWN_PID_IN_CGROUP 1u /* clone3 placed the init in SPAWN_CGROUP_FD's cgroup */

#endif
