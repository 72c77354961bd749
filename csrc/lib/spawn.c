/* Starting containr-init (csrc/bin/containr-init/) from the multithreaded
   Bun process: posix_spawn (vfork: no copy of Bun's page tables) with the
   plan in a sealed memfd and the sync socket, as init-helper.h lays them out. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include "containr.h"
#include "fdio.h"
#include "plan.h"
#include "init-helper.h"

/* Above every descriptor init-helper.h assigns, so that no dup2 of the file
   actions overwrites a source that a later one still needs. */
#define SPAWN_STAGING_FD 10

static int
plan_memfd (const uint8_t *buf, uint32_t len)
{
  int fd = memfd_create ("containr-plan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return -errno;
  int ret = fdio_write_all (fd, (const char *) buf, len);
  if (ret < 0)
    {
      close (fd);
      return ret;
    }
  /* the helper reads exactly what was validated here */
  if (fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
    {
      int saved = errno;
      close (fd);
      return -saved;
    }
  return fd;
}

static void
close_all (const int *fds, int n)
{
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
}

/*
 * FFI: check the plan, then start the helper at `helper` with the plan, a
 * new sync socketpair and cgroup_fd (a cgroup v2 directory for
 * CLONE_INTO_CGROUP, or -1). On success fills result with
 * { helper's pid, parent's socket fd }; the helper's first message is
 * CHILD_PID (or READY_FOR_MAPS for a new user namespace, or ERROR).
 * Returns 0 or -errno (-EINVAL for a malformed plan).
 */
CONTAINR_EXPORT int
containr_spawn (const char *helper, const uint8_t *buf, uint32_t len, int cgroup_fd, int32_t *result)
{
  struct plan plan;
  const char *why;
  int ret = plan_parse (buf, len, &plan, &why);
  if (ret < 0)
    return ret;

  int sv[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return -errno;
  int memfd = plan_memfd (buf, len);
  if (memfd < 0)
    {
      close_all (sv, 2);
      return memfd;
    }

  /* staged copies: [plan, socket, cgroup, the caller's fds 3 .. 3+n-1 (--preserve-fds)]
     → SPAWN_PLAN_FD, SPAWN_SYNC_FD, SPAWN_CGROUP_FD, SPAWN_FIRST_FREE_FD .. +n-1 */
  int n = 3 + (int) plan.preserve_fds;
  int staged[3 + SPAWN_MAX_PRESERVED_FDS];
  int sources[3 + SPAWN_MAX_PRESERVED_FDS] = { memfd, sv[1], cgroup_fd };
  int targets[3 + SPAWN_MAX_PRESERVED_FDS] = { SPAWN_PLAN_FD, SPAWN_SYNC_FD, SPAWN_CGROUP_FD };
  for (int i = 3; i < n; i++)
    sources[i] = i, targets[i] = SPAWN_FIRST_FREE_FD + i - 3;
  /* above every target, so that no dup2 overwrites a source a later one needs */
  int staging = SPAWN_FIRST_FREE_FD + n > SPAWN_STAGING_FD ? SPAWN_FIRST_FREE_FD + n : SPAWN_STAGING_FD;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init (&actions);
  ret = 0;
  for (int i = 0; i < n; i++)
    staged[i] = -1;
  for (int i = 0; i < n && ret == 0; i++)
    {
      if (sources[i] < 0)
        continue;
      staged[i] = fcntl (sources[i], F_DUPFD_CLOEXEC, staging);
      if (staged[i] < 0)
        ret = -errno;
      else
        ret = -posix_spawn_file_actions_adddup2 (&actions, staged[i], targets[i]);
    }
  if (ret == 0 && cgroup_fd < 0)
    ret = -posix_spawn_file_actions_addclose (&actions, SPAWN_CGROUP_FD);

  pid_t pid = -1;
  if (ret == 0)
    {
      char parent[16];
      snprintf (parent, sizeof parent, "%d", (int) getpid ());
      char *const argv[] = { (char *) "containr-init", (char *) SPAWN_ARG_MAGIC, parent, NULL };
      char *const envp[] = { NULL };
      ret = -posix_spawn (&pid, helper, &actions, NULL, argv, envp);
    }
  posix_spawn_file_actions_destroy (&actions);
  close_all (staged, n);
  close (memfd);
  close (sv[1]);
  if (ret < 0)
    {
      close (sv[0]);
      return ret;
    }
  result[0] = pid;
  result[1] = sv[0];
  return 0;
}
