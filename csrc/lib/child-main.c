/* The container's init, from the moment containr-init cloned it (already in
   its namespaces, pid 1 of a new pid namespace when asked) up to execve:
   the sequence of steps and the messages that separate them. Linked into
   build/containr-init only (scripts/build.ts: csrc/lib/child-*.c). */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "runtime.h"

static int
run_steps (struct child_ctx *ctx)
{
  const struct plan *plan = ctx->plan;
  int ret;

  ret = child_ask_parent (ctx, STAGE_CGROUP, SYNC_CHILD_CGROUP_WAIT, SYNC_CGROUP_DONE, "the cgroup placement");
  if (ret < 0)
    return ret;
  /* after the placement, so that the namespace's root is the container's cgroup */
  if ((plan->config.clone_flags & CLONE_NEWCGROUP) && unshare (CLONE_NEWCGROUP) < 0)
    return child_fail (ctx, STAGE_NAMESPACES, errno, "unshare the cgroup namespace", NULL, NULL, NULL);

  int exec = (plan->config.flags & PLAN_FLAG_EXEC) != 0;
  ret = child_join_keyring (ctx);
  if (ret < 0)
    return ret;
  if (!exec)
    {
      ret = child_setup_rootfs (ctx);
      if (ret < 0)
        return ret;
      sync_send (ctx->sock, SYNC_CHILD_MOUNTS_DONE, 0, 0, 0, NULL);
    }
  ret = child_setup_terminal (ctx, !exec);
  if (ret < 0)
    return ret;
  ret = child_setup_process (ctx);
  if (ret < 0)
    return ret;
  if (!exec)
    {
      ret = child_finish_rootfs (ctx);
      if (ret == 0)
        ret = child_apply_path_rules (ctx);
      if (ret < 0)
        return ret;
    }
  /* runc's order: no_new_privs; without it the filter needs CAP_SYS_ADMIN,
     so it goes in before the capabilities are dropped */
  ret = child_set_no_new_privs (ctx);
  if (ret == 0)
    ret = child_load_seccomp (ctx, 0);
  if (ret == 0)
    ret = child_drop_bounding (ctx);
  if (ret == 0)
    ret = child_set_user (ctx);
  if (ret == 0)
    ret = child_apply_caps (ctx);
  if (ret < 0)
    return ret;
  char path[PATH_MAX];
  ret = child_find_executable (ctx, path, sizeof path);
  if (ret < 0)
    return ret;

  /* From here the container may outlive the CLI (create, then start). Cleared
     before READY: a parent that exits right after READY (`oci create`) would
     otherwise race this call and SIGKILL the init. */
  prctl (PR_SET_PDEATHSIG, 0);
  sync_send (ctx->sock, SYNC_CHILD_READY, 0, 0, 0, NULL);
  ret = child_wait_exec_fifo (ctx);
  if (ret == 0 && !exec)
    ret = child_run_hooks (ctx, PLAN_HOOK_START_CONTAINER);
  if (ret == 0)
    ret = child_place_preserved_fds (ctx);
  /* with no_new_privs, as late as possible: the fewest calls run under the filter */
  if (ret == 0)
    ret = child_load_seccomp (ctx, 1);
  if (ret < 0)
    return ret;
  return child_exec (ctx, path);
}

void
child_main (const struct plan *plan, int sock)
{
  struct child_ctx ctx = { .plan = plan, .sock = sock, .rootfd = -1, .fifofd = -1 };
  int ret = 0;

  /* The CLI is the parent (CLONE_PARENT). If it died before this, the sync
     socket says so: the wait for CGROUP_DONE ends with EOF. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* a session of its own (as runc): the terminal's signals and a kill of
     the CLI's process group reach the container only through the CLI */
  if (setsid () < 0)
    ret = child_fail (&ctx, STAGE_SETUP, errno, "setsid", NULL, NULL, NULL);
  if (ret == 0)
    ret = run_steps (&ctx);
  sync_send (ctx.sock, SYNC_ERROR, ctx.err, ctx.stage, 0, ctx.text); /* moved by --preserve-fds */
  _exit (ctx.stage == STAGE_EXEC ? (ctx.err == ENOENT ? 127 : 126) : 1);
}
