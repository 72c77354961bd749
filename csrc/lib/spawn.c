/* Starting containr-init (csrc/bin/containr-init/) from the multithreaded
   Bun process: posix_spawn (vfork: no copy of Bun's page tables) with the
   plan in a sealed memfd and the sync socket, as init-helper.h lays them out;
   either the helper itself (the runtime) or the container's monitor, which
   runs the helper as its create command (the engine, monitor-spawn.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include "containr.h"
#include "fdio.h"
#include "plan.h"
#include "init-helper.h"
#include "monitor-spawn.h"

/* The lowest fd the sources are staged at, above every descriptor
   init-helper.h and monitor-spawn.h assign. */
#define SPAWN_STAGING_FD 10
/* The monitor's own descriptors besides init-helper.h's three: control, console, stderr. */
#define MONITOR_EXTRA_FDS 3

extern char **environ;

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

/* The descriptors a program started on a plan gets besides the plan, the
   sync socket and the cgroup: sources[i] lands on targets[i]. */
struct spawn_fds
{
  int n;
  const int *sources;
  const int *targets;
};

/*
 * posix_spawn path with argv and envp, on the plan in buf (already
 * checked): the plan in a sealed memfd at SPAWN_PLAN_FD, the child's end of
 * a new sync socketpair at SPAWN_SYNC_FD, cgroup_fd (or nothing) at
 * SPAWN_CGROUP_FD, then extra's pairs. Every source is first duplicated
 * above every target, so that no dup2 of the file actions overwrites a
 * source that a later one still needs. actions may already hold the
 * caller's own (opens of targets no source uses). On success *pid is the
 * child and *sock the parent's end of the socket. 0 or -errno.
 */
static int
spawn_on_plan (const char *path, char *const argv[], char *const envp[], const posix_spawnattr_t *attr,
               posix_spawn_file_actions_t *actions, const uint8_t *buf, uint32_t len, int cgroup_fd,
               const struct spawn_fds *extra, pid_t *pid, int *sock)
{
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return -errno;
  int memfd = plan_memfd (buf, len);
  if (memfd < 0)
    {
      close_all (sv, 2);
      return memfd;
    }

  int n = 3 + extra->n;
  int sources[n], targets[n], staged[n];
  sources[0] = memfd, targets[0] = SPAWN_PLAN_FD;
  sources[1] = sv[1], targets[1] = SPAWN_SYNC_FD;
  sources[2] = cgroup_fd, targets[2] = SPAWN_CGROUP_FD;
  int staging = SPAWN_STAGING_FD;
  for (int i = 0; i < extra->n; i++)
    {
      sources[3 + i] = extra->sources[i], targets[3 + i] = extra->targets[i];
      if (extra->targets[i] >= staging)
        staging = extra->targets[i] + 1;
    }
  int ret = 0;
  for (int i = 0; i < n; i++)
    staged[i] = -1;
  for (int i = 0; i < n && ret == 0; i++)
    {
      if (sources[i] < 0)
        {
          /* glibc ignores a close of a descriptor that is not open */
          ret = -posix_spawn_file_actions_addclose (actions, targets[i]);
          continue;
        }
      staged[i] = fcntl (sources[i], F_DUPFD_CLOEXEC, staging);
      if (staged[i] < 0)
        ret = -errno;
      else
        ret = -posix_spawn_file_actions_adddup2 (actions, staged[i], targets[i]);
    }
  if (ret == 0)
    ret = -posix_spawn (pid, path, actions, attr, argv, envp);
  close_all (staged, n);
  close (memfd);
  close (sv[1]);
  if (ret < 0)
    {
      close (sv[0]);
      return ret;
    }
  *sock = sv[0];
  return 0;
}

/*
 * FFI: check the plan, then start the helper at `helper` with the plan, a
 * new sync socketpair and cgroup_fd (a cgroup v2 directory for
 * CLONE_INTO_CGROUP, or -1), and the caller's --preserve-fds. On success
 * fills result with { helper's pid, parent's socket fd }; the helper's first
 * message is CHILD_PID (or READY_FOR_MAPS for a new user namespace, or
 * ERROR). Returns 0 or -errno (-EINVAL for a malformed plan).
 */
CONTAINR_EXPORT int
containr_spawn (const char *helper, const uint8_t *buf, uint32_t len, int cgroup_fd, int32_t *result)
{
  struct plan plan;
  const char *why;
  int ret = plan_parse (buf, len, &plan, &why);
  if (ret < 0)
    return ret;

  /* the caller's fds 3 .. 3+n-1 (--preserve-fds) → SPAWN_FIRST_FREE_FD .. +n-1 */
  int n = (int) plan.preserve_fds;
  int sources[SPAWN_MAX_PRESERVED_FDS], targets[SPAWN_MAX_PRESERVED_FDS];
  for (int i = 0; i < n; i++)
    sources[i] = 3 + i, targets[i] = SPAWN_FIRST_FREE_FD + i;
  struct spawn_fds preserved = { .n = n, .sources = sources, .targets = targets };

  char parent[16];
  snprintf (parent, sizeof parent, "%d", (int) getpid ());
  char *const argv[] = { (char *) "containr-init", (char *) SPAWN_ARG_MAGIC, parent, NULL };
  char *const envp[] = { NULL };
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init (&actions);
  pid_t pid;
  int sock;
  ret = spawn_on_plan (helper, argv, envp, NULL, &actions, buf, len, cgroup_fd, &preserved, &pid, &sock);
  posix_spawn_file_actions_destroy (&actions);
  if (ret < 0)
    return ret;
  result[0] = pid;
  result[1] = sock;
  return 0;
}

/*
 * FFI: check the plan, then start the container's monitor at `monitor`
 * with argv `monitor ARGS... -- HELPER SPAWN_ARG_MAGIC @monitor-pid@`
 * (args: args_len bytes of NUL-terminated words) and monitor-spawn.h's
 * descriptors: the plan, a new sync socketpair, cgroup_fd (or -1), the read
 * end of a new control pipe, console_fd (or -1), stdin and stdout on
 * /dev/null and stderr on a new pipe. Signal dispositions and the mask
 * start from the defaults (Bun ignores some). On success fills result with
 * { monitor's pid, parent's socket fd, control pipe's write end, stderr
 * pipe's read end }, all close-on-exec. 0 or -errno (-EINVAL for a
 * malformed plan or one with --preserve-fds, which the monitor does not pass on).
 */
CONTAINR_EXPORT int
containr_spawn_monitor (const char *monitor, const char *args, uint32_t args_len, const char *helper, const uint8_t *buf,
                        uint32_t len, int cgroup_fd, int console_fd, int32_t *result)
{
  struct plan plan;
  const char *why;
  int ret = plan_parse (buf, len, &plan, &why);
  if (ret < 0)
    return ret;
  if (plan.preserve_fds > 0 || args_len == 0 || args[args_len - 1] != '\0')
    return -EINVAL;

  int nargs = 0;
  for (uint32_t i = 0; i < args_len; i++)
    nargs += args[i] == '\0';
  char **argv = calloc ((size_t) nargs + 6, sizeof *argv);
  if (argv == NULL)
    return -ENOMEM;
  int argc = 0;
  argv[argc++] = (char *) monitor;
  for (const char *word = args; word < args + args_len; word += strlen (word) + 1)
    argv[argc++] = (char *) word;
  argv[argc++] = (char *) "--";
  argv[argc++] = (char *) helper;
  argv[argc++] = (char *) SPAWN_ARG_MAGIC;
  argv[argc++] = (char *) MONITOR_PID_PLACEHOLDER;

  int control[2] = { -1, -1 }, diagnostics[2] = { -1, -1 };
  if (pipe2 (control, O_CLOEXEC) < 0 || pipe2 (diagnostics, O_CLOEXEC) < 0)
    {
      ret = -errno;
      close_all (control, 2);
      free (argv);
      return ret;
    }
  const int sources[MONITOR_EXTRA_FDS] = { control[0], console_fd, diagnostics[1] };
  const int targets[MONITOR_EXTRA_FDS] = { MONITOR_CONTROL_FD, MONITOR_CONSOLE_FD, STDERR_FILENO };
  struct spawn_fds extra = { .n = MONITOR_EXTRA_FDS, .sources = sources, .targets = targets };

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  sigset_t all, none;
  sigfillset (&all);
  sigemptyset (&none);
  posix_spawn_file_actions_init (&actions);
  posix_spawnattr_init (&attr);
  ret = -posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (ret == 0)
    ret = -posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  if (ret == 0)
    ret = -posix_spawnattr_setsigdefault (&attr, &all);
  if (ret == 0)
    ret = -posix_spawnattr_setsigmask (&attr, &none);
  if (ret == 0)
    ret = -posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int sock = -1;
  if (ret == 0)
    ret = spawn_on_plan (monitor, argv, environ, &attr, &actions, buf, len, cgroup_fd, &extra, &pid, &sock);
  posix_spawn_file_actions_destroy (&actions);
  posix_spawnattr_destroy (&attr);
  free (argv);
  close (control[0]);
  close (diagnostics[1]);
  if (ret < 0)
    {
      close (control[1]);
      close (diagnostics[0]);
      return ret;
    }
  result[0] = pid;
  result[1] = sock;
  result[2] = control[1];
  result[3] = diagnostics[0];
  return 0;
}
