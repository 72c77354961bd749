/* The security steps of the child: the session keyring, no_new_privs, the
   seccomp filter, the capability sets around the uid/gid switch. The order
   is runc's (standard_init_linux.go, finalizeNamespace) and crun's:
   no_new_privs first; the filter before the capabilities are dropped when
   no_new_privs is off (loading it then needs CAP_SYS_ADMIN), else as the
   last step before execve; the bounding set is dropped and keepcaps set
   before setuid, and the other sets applied after it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "runtime.h"

/* <keyutils.h>'s permission bits (not in the kernel's UAPI headers) */
#define KEY_USR_SEARCH 0x00080000
#define KEY_OTH_SEARCH 0x00000008

static int
last_cap (void)
{
  /* read once, before the pivot and any seccomp filter */
  static int cached = -1;
  if (cached >= 0)
    return cached;
  char buf[16] = { 0 };
  int fd = open ("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      ssize_t n = read (fd, buf, sizeof buf - 1);
      close (fd);
      if (n > 0)
        cached = atoi (buf);
    }
  if (cached <= 0)
    cached = CAP_LAST_CAP;
  return cached;
}

/* In a user namespace (new or joined) the keyring is searched as "other". */
static int
in_user_namespace (const struct plan *plan)
{
  return (plan->config.clone_flags & CLONE_NEWUSER) || plan_keyed_string (plan, PLAN_NAMESPACE, CLONE_NEWUSER) != NULL;
}

int
child_join_keyring (struct child_ctx *ctx)
{
  const char *name = ctx->plan->keyring;
  if (name == NULL)
    return 0;
  int in_userns = in_user_namespace (ctx->plan);
  long serial = syscall (SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
  if (serial < 0)
    {
      /* best effort, as runc: kernels without keyrings, or a user's key quota used up */
      if (errno == ENOSYS || errno == EDQUOT)
        {
          child_debug (ctx, "session keyring not joined: ", errno == ENOSYS ? "no keyring support" : "key quota exceeded", NULL);
          return 0;
        }
      return child_fail (ctx, STAGE_SETUP, errno, "join the session keyring ", name, NULL, NULL);
    }
  /* "type;uid;gid;perm;description": make it searchable by the container's
     user (runc: possessor search for the uid, "other" in a user namespace) */
  char desc[512];
  long n = syscall (SYS_keyctl, KEYCTL_DESCRIBE, serial, desc, sizeof desc - 1, 0);
  if (n < 0)
    return child_fail (ctx, STAGE_SETUP, errno, "describe the session keyring ", name, NULL, NULL);
  desc[n < (long) sizeof desc ? n : (long) sizeof desc - 1] = '\0';
  const char *p = desc;
  for (int field = 0; field < 3 && p; field++)
    {
      p = strchr (p, ';');
      if (p)
        p++;
    }
  if (p == NULL)
    return child_fail (ctx, STAGE_SETUP, EINVAL, "parse the session keyring's description ", desc, NULL, NULL);
  unsigned long perm = strtoul (p, NULL, 16);
  perm |= in_userns ? KEY_OTH_SEARCH : KEY_USR_SEARCH;
  if (syscall (SYS_keyctl, KEYCTL_SETPERM, serial, perm, 0, 0) < 0)
    return child_fail (ctx, STAGE_SETUP, errno, "set the permissions of the session keyring ", name, NULL, NULL);
  return 0;
}

int
child_set_no_new_privs (struct child_ctx *ctx)
{
  if (!(ctx->plan->config.flags & PLAN_FLAG_NO_NEW_PRIVS))
    return 0;
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return child_fail (ctx, STAGE_CAPABILITIES, errno, "prctl(PR_SET_NO_NEW_PRIVS) (process.noNewPrivileges)", NULL, NULL, NULL);
  return 0;
}

int
child_load_seccomp (struct child_ctx *ctx, int late)
{
  const struct plan *plan = ctx->plan;
  int nnp = (plan->config.flags & PLAN_FLAG_NO_NEW_PRIVS) != 0;
  if (plan->seccomp == NULL || late != nnp)
    return 0;
  struct plan_seccomp_head head;
  memcpy (&head, plan->seccomp, sizeof head);
  /* the instructions are 8-byte aligned in the plan (sections are, and the head is 8 bytes) */
  struct sock_fprog prog = { .len = (unsigned short) head.count,
                             .filter = (struct sock_filter *) ((const uint8_t *) plan->seccomp + sizeof head) };
  long fd = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, head.flags, &prog);
  if (fd < 0)
    return child_fail (ctx, STAGE_SECCOMP, errno, "load the seccomp filter (linux.seccomp)", NULL, NULL, NULL);
  /* a listener fd (SCMP_ACT_NOTIFY) is refused before compiling: see src/runtime/security.ts */
  if (head.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
    close ((int) fd);
  return 0;
}

int
child_drop_bounding (struct child_ctx *ctx)
{
  if (ctx->plan->caps == NULL)
    return 0;
  struct plan_caps caps;
  memcpy (&caps, ctx->plan->caps, sizeof caps);
  int last = last_cap ();
  for (int cap = 0; cap <= last; cap++)
    if (!(caps.bounding & (1ULL << cap)) && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return child_fail (ctx, STAGE_CAPABILITIES, errno, "drop a capability from the bounding set (process.capabilities.bounding)", NULL, NULL, NULL);
  /* permitted capabilities survive the setuid to a non-root user */
  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return child_fail (ctx, STAGE_CAPABILITIES, errno, "prctl(PR_SET_KEEPCAPS)", NULL, NULL, NULL);
  return 0;
}

int
child_apply_caps (struct child_ctx *ctx)
{
  if (ctx->plan->caps == NULL)
    return 0;
  struct plan_caps caps;
  memcpy (&caps, ctx->plan->caps, sizeof caps);
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return child_fail (ctx, STAGE_CAPABILITIES, errno, "prctl(PR_SET_KEEPCAPS)", NULL, NULL, NULL);
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++)
    {
      data[i].effective = (uint32_t) (caps.effective >> (32 * i));
      data[i].permitted = (uint32_t) (caps.permitted >> (32 * i));
      data[i].inheritable = (uint32_t) (caps.inheritable >> (32 * i));
    }
  if (syscall (SYS_capset, &hdr, data) < 0)
    return child_fail (ctx, STAGE_CAPABILITIES, errno,
                       "capset (process.capabilities: effective must be within permitted, permitted within bounding)", NULL, NULL, NULL);
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return child_fail (ctx, STAGE_CAPABILITIES, errno, "clear the ambient capabilities", NULL, NULL, NULL);
  int last = last_cap ();
  for (int cap = 0; cap <= last; cap++)
    if ((caps.ambient & (1ULL << cap)) && prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      {
        /* the kernel raises an ambient capability only when it is both
           permitted and inheritable: runc warns and goes on */
        char text[SYNC_TEXT_MAX];
        struct strbuf sb;
        sb_init (&sb, text, sizeof text);
        sb_add (&sb, "process.capabilities.ambient: capability ");
        sb_num (&sb, cap);
        sb_add (&sb, " not raised (an ambient capability must also be permitted and inheritable)");
        child_warn (ctx, text);
      }
  return 0;
}
