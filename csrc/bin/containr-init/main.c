/*
 * containr-init: the small static helper between the CLI and the container's
 * init (ADR 0001, as runc's nsexec). The CLI starts it with posix_spawn
 * (init-helper.h gives the descriptors); it
 *
 *   1. maps the plan and checks it;
 *   2. joins the namespaces given by path (the user namespace first);
 *   3. creates a user namespace, if asked, and has the parent write its
 *      uid/gid maps (CHILD_READY_FOR_MAPS, then MAPS_WRITTEN);
 *   4. unshares the other new namespaces (not the cgroup one: the init does
 *      that once it sits in its cgroup);
 *   5. clones the init with CLONE_PARENT, so that it is the CLI's child
 *      (`oci run` waits for it; after `oci create` it is reparented as
 *      runc's is), and since a pid or time namespace made by unshare or
 *      setns applies to children only, the init is pid 1 of a new one;
 *   6. reports the init's pid (CHILD_PID) and exits.
 *
 * The init waits until the helper has exited (so that CHILD_PID comes first
 * on the socket), then runs child_main (csrc/lib/child-main.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "runtime.h"
#include "init-helper.h"

#define MAX_JOINED_NAMESPACES 8

/* The kernel's struct sigaction (glibc's differs in layout). */
struct kernel_sigaction
{
  void (*handler) (int);
  unsigned long flags;
  void (*restorer) (void);
  uint64_t mask;
};

/* Bun ignores SIGPIPE, SIGXFSZ and two real-time signals, ignored signals
   survive execve, and the mask is inherited: start from the defaults. The
   raw system calls, since glibc's wrappers refuse its own internal signals
   (32 and 33), which Bun leaves ignored. */
static void
reset_signals (void)
{
  struct kernel_sigaction dfl = { .handler = SIG_DFL };
  for (int sig = 1; sig <= 64; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      syscall (SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
  uint64_t none = 0;
  syscall (SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
}

static int
map_plan (struct child_ctx *ctx, struct plan *plan)
{
  struct stat st;
  if (fstat (SPAWN_PLAN_FD, &st) < 0)
    return child_fail (ctx, STAGE_SETUP, errno, "read the plan", NULL, NULL, NULL);
  if (st.st_size < 16 || st.st_size > UINT32_MAX)
    return child_fail (ctx, STAGE_SETUP, EINVAL, "the plan has an impossible size", NULL, NULL, NULL);
  void *buf = mmap (NULL, st.st_size, PROT_READ, MAP_PRIVATE, SPAWN_PLAN_FD, 0);
  close (SPAWN_PLAN_FD);
  if (buf == MAP_FAILED)
    return child_fail (ctx, STAGE_SETUP, errno, "map the plan", NULL, NULL, NULL);
  const char *why;
  int ret = plan_parse (buf, (uint32_t) st.st_size, plan, &why);
  if (ret < 0)
    return child_fail (ctx, STAGE_SETUP, -ret, "malformed plan: ", why, NULL, NULL);
  return 0;
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

/* A new user namespace comes before every other new namespace, which it
   then owns; its maps are written by the parent (newuidmap/newgidmap when
   rootless), after which this process is root in it. */
static int
create_user_namespace (struct child_ctx *ctx)
{
  if (unshare (CLONE_NEWUSER) < 0)
    return child_fail (ctx, STAGE_NAMESPACES, errno, "unshare the user namespace", NULL, NULL, NULL);
  int ret = child_ask_parent (ctx, STAGE_NAMESPACES, SYNC_CHILD_READY_FOR_MAPS, SYNC_MAPS_WRITTEN, "the uid/gid maps");
  if (ret < 0)
    return ret;
  if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
    return child_fail (ctx, STAGE_NAMESPACES, errno, "become root in the user namespace (does the map include 0?)", NULL, NULL, NULL);
  return 0;
}

static pid_t
clone_init (int cgroup_fd)
{
  /* CLONE_PARENT: the init is a sibling (the CLI's child) and takes this
     process's exit signal, so clone3 wants exit_signal 0 */
  struct clone_args args;
  memset (&args, 0, sizeof args);
  args.flags = CLONE_PARENT | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.cgroup = cgroup_fd >= 0 ? (uint64_t) cgroup_fd : 0;
  pid_t pid = syscall (SYS_clone3, &args, sizeof args);
  if (pid < 0 && errno == ENOSYS)
    pid = syscall (SYS_clone, CLONE_PARENT, 0, 0, 0, 0);
  return pid;
}

/* The helper's exit; an error goes to the parent first. */
static __attribute__ ((noreturn)) void
fail (struct child_ctx *ctx)
{
  sync_send (ctx->sock, SYNC_ERROR, ctx->err, ctx->stage, 0, ctx->text);
  _exit (1);
}

int
main (int argc, char **argv)
{
  if (argc != 3 || strcmp (argv[1], SPAWN_ARG_MAGIC) != 0)
    {
      static const char usage[] = "containr-init is started by containr to create a container; it is not a command\n";
      if (write (STDERR_FILENO, usage, sizeof usage - 1) < 0)
        _exit (2);
      _exit (2);
    }
  /* die with the CLI; and if it is already gone, do nothing at all */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != (pid_t) strtol (argv[2], NULL, 10))
    _exit (1);

  struct plan plan;
  struct child_ctx ctx = { .plan = &plan, .sock = SPAWN_SYNC_FD, .rootfd = -1, .fifofd = -1 };
  /* the socket's descriptor came through dup2, which drops close-on-exec:
     the container's execve must close it (EOF tells the parent it worked) */
  if (fcntl (SPAWN_SYNC_FD, F_SETFD, FD_CLOEXEC) < 0)
    _exit (1);
  int cgroup_fd = fcntl (SPAWN_CGROUP_FD, F_GETFD) >= 0 ? SPAWN_CGROUP_FD : -1;
  reset_signals ();
  umask (0); /* device nodes and mount points get exactly their modes */
  if (map_plan (&ctx, &plan) < 0)
    fail (&ctx);
  /* Nothing of Bun's may reach the container, nor hold what the parent
     holds (an flock on the state directory lives as long as any copy of
     its fd): nothing but stdio, the descriptors above and the caller's
     --preserve-fds (from SPAWN_FIRST_FREE_FD on) stays open. */
  syscall (SYS_close_range, SPAWN_FIRST_FREE_FD + plan.preserve_fds, ~0U, 0);

  /* the console socket's path is the caller's: connect before joining any namespace */
  if (child_connect_console (&ctx) < 0 || join_namespaces (&ctx) < 0)
    fail (&ctx);
  if ((plan.config.clone_flags & CLONE_NEWUSER) && create_user_namespace (&ctx) < 0)
    fail (&ctx);
  uint64_t rest = plan.config.clone_flags & ~(uint64_t) (CLONE_NEWUSER | CLONE_NEWCGROUP);
  if (rest && unshare (rest) < 0)
    {
      child_fail (&ctx, STAGE_NAMESPACES, errno, "unshare the container's namespaces", NULL, NULL, NULL);
      fail (&ctx);
    }

  /* the init reads EOF here when this process has exited */
  int gate[2];
  if (pipe2 (gate, O_CLOEXEC) < 0)
    {
      child_fail (&ctx, STAGE_NAMESPACES, errno, "create a pipe", NULL, NULL, NULL);
      fail (&ctx);
    }
  uint32_t placed = SPAWN_PID_IN_CGROUP;
  pid_t pid = clone_init (cgroup_fd);
  if (pid < 0 && cgroup_fd >= 0 && (errno == EINVAL || errno == E2BIG || errno == EOPNOTSUPP || errno == EBUSY))
    {
      /* no CLONE_INTO_CGROUP here: the parent places the init by pid */
      placed = 0;
      pid = clone_init (-1);
    }
  if (pid < 0)
    {
      child_fail (&ctx, STAGE_NAMESPACES, errno, "clone the container's init", NULL, NULL, NULL);
      fail (&ctx);
    }
  if (pid == 0)
    {
      char byte;
      close (gate[1]);
      while (read (gate[0], &byte, 1) < 0 && errno == EINTR)
        ;
      close (gate[0]);
      if (cgroup_fd >= 0)
        close (cgroup_fd);
      child_main (&plan, SPAWN_SYNC_FD);
    }
  if (sync_send (ctx.sock, SYNC_CHILD_PID, 0, cgroup_fd >= 0 ? placed : 0, pid, NULL) < 0)
    {
      kill (pid, SIGKILL);
      _exit (1);
    }
  _exit (0);
}
