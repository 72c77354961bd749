#ifndef CONTAINR_SYNC_H
#define CONTAINR_SYNC_H
/*
 * The parent/child protocol: fixed-size typed messages over one
 * SOCK_SEQPACKET socketpair (one message per packet, so no framing).
 * Mirrored in src/runtime/protocol.ts.
 *
 * Child → parent, in order (the first two from containr-init, the rest from the init):
 *   [CHILD_READY_FOR_MAPS] new user namespace: containr-init (value = its pid: the engine's
 *                          monitor started it, not the parent) waits for MAPS_WRITTEN (uid_map,
 *                          gid_map, setgroups)
 *   CHILD_PID              containr-init cloned the init and exits: value = the init's pid,
 *                          stage = flags (init-helper.h: SPAWN_PID_IN_CGROUP)
 *   CHILD_CGROUP_WAIT      alive, in its namespaces; waits for CGROUP_DONE
 *   [CHILD_HOOKS]          mounts done, before the pivot: waits for HOOKS_DONE (prestart, createRuntime)
 *   CHILD_MOUNTS_DONE      root filesystem ready, pivoted (not for exec)
 *   [CHILD_TERMINAL]       the pty master (SCM_RIGHTS), when there is no console socket
 *   CHILD_READY            set up; waits on the exec fifo (create) or execs (run)
 *   then EOF when execve succeeds (the socket is CLOEXEC), or ERROR{stage=EXEC}
 * Any time: DEBUG and WARNING lines, ERROR{stage, errno, text} (then the child exits).
 * Parent → child: CGROUP_DONE, MAPS_WRITTEN for CHILD_READY_FOR_MAPS, HOOKS_DONE for CHILD_HOOKS.
 */
#include <stddef.h>
#include <stdint.h>

enum sync_type
{
  SYNC_CHILD_READY_FOR_MAPS = 1,
  SYNC_MAPS_WRITTEN = 2,
  SYNC_CHILD_CGROUP_WAIT = 3,
  SYNC_CGROUP_DONE = 4,
  SYNC_CHILD_MOUNTS_DONE = 5,
  SYNC_CHILD_READY = 6,
  SYNC_ERROR = 7,
  SYNC_DEBUG = 8,
  SYNC_WARNING = 9,
  SYNC_CHILD_PID = 10,
  SYNC_CHILD_HOOKS = 11,    /* before the pivot: run prestart and createRuntime hooks (PLAN_FLAG_RUNTIME_HOOKS) */
  SYNC_HOOKS_DONE = 12,
  SYNC_CHILD_TERMINAL = 13, /* the pty master rides along (SCM_RIGHTS) when there is no console socket */
};

/* Where in the child's set-up a failure happened; src/runtime/protocol.ts names them. */
enum sync_stage
{
  STAGE_SETUP = 0,
  STAGE_NAMESPACES = 1,
  STAGE_CGROUP = 2,
  STAGE_MOUNTS = 3,
  STAGE_DEVICES = 4,
  STAGE_PIVOT = 5,
  STAGE_PROCESS = 6,
  STAGE_USER = 7,
  STAGE_EXEC_FIFO = 8,
  STAGE_EXEC = 9,
  STAGE_CAPABILITIES = 10,
  STAGE_SECCOMP = 11,
  STAGE_TERMINAL = 12,
  STAGE_HOOKS = 13,
  STAGE_MASKS = 14,
};

#define SYNC_TEXT_MAX 488

struct sync_msg
{
  uint32_t type;
  int32_t err; /* errno, positive */
  uint32_t stage;
  uint32_t len; /* bytes used in text, without a terminator */
  int64_t value;
  char text[SYNC_TEXT_MAX];
};

_Static_assert (sizeof (struct sync_msg) == 512, "sync_msg is 512 bytes");

int sync_send (int fd, uint32_t type, int32_t err, uint32_t stage, int64_t value, const char *text);
/* Receive one message, waiting at most timeout_ms (-1: forever): 1, 0 on EOF, -errno. */
int sync_recv (int fd, struct sync_msg *msg, int timeout_ms);
/* sync_send with one fd attached (SCM_RIGHTS). */
int sync_send_fd (int fd, uint32_t type, int passed_fd, const char *text);
/* Send len bytes of data with one fd attached (SCM_RIGHTS) on any unix socket
   (the sync socket, a console socket): 0 or -errno. */
int sync_sendmsg_fd (int sock, const void *data, size_t len, int passed_fd);

#endif
