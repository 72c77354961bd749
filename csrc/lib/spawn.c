/* clone3 of the container's first process from the (multithreaded) Bun
   process, and the child's sequence of steps up to execve. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "containr.h"
#include "runtime.h"

#define MAX_JOINED_NAMESPACES 8

static int
joins_namespace (const struct plan *plan, uint64_t type)
{
  struct plan_iter it;
  struct plan_section_view s;
  plan_iter_init (plan, &it);
  while (plan_next (&it, PLAN_NAMESPACE, &s))
    {
      uint32_t t;
      memcpy (&t, s.payload, sizeof t);
      if (t == type)
        return 1;
    }
  return 0;
}

/* Bun ignores SIGPIPE and SIGXFSZ, and ignored signals survive execve. */
static void
reset_signals (void)
{
  struct sigaction dfl;
  memset (&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction (sig, &dfl, NULL); /* glibc's internal signals refuse: fine */
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

/* setns for every namespace given by path: the user namespace first (the
   others are owned by it), the mount namespace last (it changes / and the
   cwd, which the other paths are resolved against). */
static int
join_namespaces (struct child_ctx *ctx)
{
  struct
  {
    int fd;
    uint32_t type;
    const char *path;
  } ns[MAX_JOINED_NAMESPACES];
  int n = 0, ret = 0;
  struct plan_iter it;
  struct plan_section_view s;
  plan_iter_init (ctx->plan, &it);
  while (plan_next (&it, PLAN_NAMESPACE, &s) && ret == 0)
    {
      if (n == MAX_JOINED_NAMESPACES)
        return child_fail (ctx, STAGE_NAMESPACES, E2BIG, "too many namespaces to join", NULL, NULL, NULL);
      memcpy (&ns[n].type, s.payload, sizeof ns[n].type);
      ns[n].path = (const char *) s.payload + 4;
      ns[n].fd = open (ns[n].path, O_RDONLY | O_CLOEXEC);
      if (ns[n].fd < 0)
        ret = child_fail (ctx, STAGE_NAMESPACES, errno, "open namespace ", ns[n].path, NULL, NULL);
      else
        n++;
    }
  static const uint32_t order[] = { CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID,
                                    CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS };
  for (size_t o = 0; o < sizeof order / sizeof order[0] && ret == 0; o++)
    for (int i = 0; i < n && ret == 0; i++)
      if (ns[i].type == order[o] && setns (ns[i].fd, ns[i].type) < 0)
        ret = child_fail (ctx, STAGE_NAMESPACES, errno, "join namespace ", ns[i].path, NULL, NULL);
  for (int i = 0; i < n; i++)
    close (ns[i].fd);
  return ret;
}

static int
expect_from_parent (struct child_ctx *ctx, uint32_t type, const char *what)
{
  struct sync_msg msg;
  int ret = sync_recv (ctx->sock, &msg, -1);
  if (ret <= 0)
    return child_fail (ctx, STAGE_SETUP, ret == 0 ? EPIPE : -ret, "wait for ", what, " from the parent", NULL);
  if (msg.type != type)
    return child_fail (ctx, STAGE_SETUP, EPROTO, "unexpected message from the parent while waiting for ", what, NULL, NULL);
  return 0;
}

/* The namespaces are in place (pid 1 of a new pid namespace when asked). */
static int
run_steps (struct child_ctx *ctx)
{
  const struct plan *plan = ctx->plan;
  int ret;

  if (sync_send (ctx->sock, SYNC_CHILD_CGROUP_WAIT, 0, 0, 0, NULL) < 0)
    return child_fail (ctx, STAGE_CGROUP, EPIPE, "tell the parent to place the cgroup", NULL, NULL, NULL);
  ret = expect_from_parent (ctx, SYNC_CGROUP_DONE, "the cgroup");
  if (ret < 0)
    return ret;
  /* after the placement, so that the namespace's root is the container's cgroup */
  if ((plan->config.clone_flags & CLONE_NEWCGROUP) && unshare (CLONE_NEWCGROUP) < 0)
    return child_fail (ctx, STAGE_NAMESPACES, errno, "unshare the cgroup namespace", NULL, NULL, NULL);

  ret = child_setup_rootfs (ctx);
  if (ret < 0)
    return ret;
  sync_send (ctx->sock, SYNC_CHILD_MOUNTS_DONE, 0, 0, 0, NULL);

  ret = child_setup_process (ctx);
  if (ret < 0)
    return ret;
  ret = child_finish_rootfs (ctx);
  if (ret < 0)
    return ret;
  ret = child_set_user (ctx);
  if (ret < 0)
    return ret;
  char path[PATH_MAX];
  ret = child_find_executable (ctx, path, sizeof path);
  if (ret < 0)
    return ret;

  sync_send (ctx->sock, SYNC_CHILD_READY, 0, 0, 0, NULL);
  /* From here the container may outlive the CLI (create, then start). */
  prctl (PR_SET_PDEATHSIG, 0);
  ret = child_wait_exec_fifo (ctx);
  if (ret < 0)
    return ret;
  return child_exec (ctx, path);
}

void
child_main (const struct plan *plan, int sock, int parent_sock)
{
  struct child_ctx ctx = { .plan = plan, .sock = sock, .rootfd = -1, .fifofd = -1 };
  int ret = 0;

  close (parent_sock);
  reset_signals ();
  /* If the parent died before this, the sync socket says so: the wait for
     CGROUP_DONE ends with EOF. (getppid() is 0 in a new pid namespace.) */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* Nothing of Bun's may reach the container, nor hold what the parent
     holds (an flock on the state directory lives as long as any copy of
     its fd): close every fd but stdio and the sync socket. */
  if (sock > 3)
    syscall (SYS_close_range, 3, sock - 1, 0);
  syscall (SYS_close_range, sock + 1, ~0U, 0);
  umask (0); /* device nodes and mount points get exactly their modes */

  int join_user = joins_namespace (plan, CLONE_NEWUSER);
  ret = join_namespaces (&ctx);
  if (ret == 0 && join_user)
    {
      /* joined a user namespace first: create the others inside it now */
      uint64_t rest = plan->config.clone_flags & ~(uint64_t) (CLONE_NEWCGROUP | CLONE_NEWUSER);
      if (rest && unshare (rest) < 0)
        ret = child_fail (&ctx, STAGE_NAMESPACES, errno, "unshare the container's namespaces", NULL, NULL, NULL);
    }
  /* A pid namespace entered by setns or unshare applies to children only:
     fork once more (as a sibling, so that the CLI stays the parent). */
  int must_fork = joins_namespace (plan, CLONE_NEWPID) || (join_user && (plan->config.clone_flags & CLONE_NEWPID));
  if (ret == 0 && must_fork)
    {
      /* the new init waits until the parent has its pid (CHILD_PID comes
         first on the socket): it reads EOF when this process exits */
      int gate[2];
      pid_t pid = -1;
      if (pipe2 (gate, O_CLOEXEC) == 0)
        pid = syscall (SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
      if (pid < 0)
        ret = child_fail (&ctx, STAGE_NAMESPACES, errno, "fork into the pid namespace", NULL, NULL, NULL);
      else if (pid > 0)
        {
          sync_send (sock, SYNC_CHILD_PID, 0, STAGE_NAMESPACES, pid, NULL);
          _exit (0);
        }
      else
        {
          char byte;
          close (gate[1]);
          while (read (gate[0], &byte, 1) < 0 && errno == EINTR)
            ;
          close (gate[0]);
          prctl (PR_SET_PDEATHSIG, SIGKILL);
        }
    }
  /* a session of its own (as runc): the terminal's signals and a kill of
     the CLI's process group reach the container only through the CLI */
  if (ret == 0 && setsid () < 0)
    ret = child_fail (&ctx, STAGE_SETUP, errno, "setsid", NULL, NULL, NULL);
  if (ret == 0)
    ret = run_steps (&ctx);
  sync_send (sock, SYNC_ERROR, ctx.err, ctx.stage, 0, ctx.text);
  _exit (ctx.stage == STAGE_EXEC ? (ctx.err == ENOENT ? 127 : 126) : 1);
}

static pid_t
do_clone3 (uint64_t flags, int cgroup_fd, int *pidfd)
{
  struct clone_args args;
  memset (&args, 0, sizeof args);
  args.flags = flags | CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = (uint64_t) (uintptr_t) pidfd;
  args.exit_signal = SIGCHLD;
  args.cgroup = cgroup_fd >= 0 ? (uint64_t) cgroup_fd : 0;
  return syscall (SYS_clone3, &args, sizeof args);
}

/*
 * FFI: validate the plan, create the sync socketpair and clone the child.
 * cgroup_fd: an O_DIRECTORY fd of the container's cgroup v2 directory for
 * CLONE_INTO_CGROUP, or -1. On success fills result with
 * { pid, pidfd, parent's socket fd, 1 if placed by CLONE_INTO_CGROUP }.
 * Returns 0 or -errno (-EINVAL for a malformed plan).
 */
CONTAINR_EXPORT int
containr_spawn (const uint8_t *buf, uint32_t len, int cgroup_fd, int32_t *result)
{
  struct plan plan;
  const char *why;
  int ret = plan_parse (buf, len, &plan, &why);
  if (ret < 0)
    return ret;

  int sv[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return -errno;

  /* the cgroup namespace is unshared by the child once it sits in its
     cgroup; a joined user namespace must come before any new namespace */
  uint64_t flags = plan.config.clone_flags & ~(uint64_t) CLONE_NEWCGROUP;
  if (joins_namespace (&plan, CLONE_NEWUSER))
    flags = 0;

  int pidfd = -1, into_cgroup = cgroup_fd >= 0;
  pid_t pid = do_clone3 (flags, cgroup_fd, &pidfd);
  if (pid < 0 && into_cgroup && (errno == ENOSYS || errno == EINVAL || errno == E2BIG || errno == EOPNOTSUPP || errno == EBUSY))
    {
      into_cgroup = 0;
      pid = do_clone3 (flags, -1, &pidfd);
    }
  if (pid < 0 && errno == ENOSYS)
    pid = syscall (SYS_clone, flags | CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
  if (pid < 0)
    {
      int saved = errno;
      close (sv[0]);
      close (sv[1]);
      return -saved;
    }
  if (pid == 0)
    child_main (&plan, sv[1], sv[0]);

  close (sv[1]);
  result[0] = pid;
  result[1] = pidfd;
  result[2] = sv[0];
  result[3] = into_cgroup;
  return 0;
}
