/* The process side of the child: hostname, sysctl, rlimits, oom_score_adj,
   groups/gid/uid, umask, cwd, the executable's lookup, the exec fifo and
   execve. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "init-helper.h"
#include "runtime.h"

static const char *
rlimit_name (uint32_t resource)
{
  static const char *names[] = {
    [RLIMIT_CPU] = "RLIMIT_CPU",         [RLIMIT_FSIZE] = "RLIMIT_FSIZE",     [RLIMIT_DATA] = "RLIMIT_DATA",
    [RLIMIT_STACK] = "RLIMIT_STACK",     [RLIMIT_CORE] = "RLIMIT_CORE",       [RLIMIT_RSS] = "RLIMIT_RSS",
    [RLIMIT_NPROC] = "RLIMIT_NPROC",     [RLIMIT_NOFILE] = "RLIMIT_NOFILE",   [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",
    [RLIMIT_AS] = "RLIMIT_AS",           [RLIMIT_LOCKS] = "RLIMIT_LOCKS",     [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
    [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",     [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",
    [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
  };
  return resource < sizeof names / sizeof names[0] && names[resource] ? names[resource] : "rlimit";
}

static int
write_file (const char *path, const char *value)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  size_t len = strlen (value);
  ssize_t n = write (fd, value, len);
  int ret = n < 0 ? -errno : (size_t) n == len ? 0 : -EIO;
  close (fd);
  return ret;
}

/* Apply one rlimit. Raising a hard limit needs CAP_SYS_RESOURCE; without it
   the limit is clamped to the current hard limit and the parent warned. */
static int
set_rlimit (struct child_ctx *ctx, const struct plan_rlimit *rl)
{
  struct rlimit want = { .rlim_cur = rl->soft, .rlim_max = rl->hard };
  if (setrlimit (rl->resource, &want) == 0)
    return 0;
  struct rlimit cur;
  if (errno != EPERM || getrlimit (rl->resource, &cur) < 0 || want.rlim_max <= cur.rlim_max)
    return child_fail (ctx, STAGE_PROCESS, errno, "setrlimit ", rlimit_name (rl->resource), NULL, NULL);

  struct rlimit clamped = { .rlim_max = cur.rlim_max, .rlim_cur = want.rlim_cur < cur.rlim_max ? want.rlim_cur : cur.rlim_max };
  if (setrlimit (rl->resource, &clamped) < 0)
    return child_fail (ctx, STAGE_PROCESS, errno, "setrlimit ", rlimit_name (rl->resource), NULL, NULL);

  char text[SYNC_TEXT_MAX];
  struct strbuf sb;
  sb_init (&sb, text, sizeof text);
  sb_add (&sb, rlimit_name (rl->resource));
  sb_add (&sb, ": the hard limit ");
  sb_num (&sb, (long long) want.rlim_max);
  sb_add (&sb, " is above the host's ");
  sb_num (&sb, (long long) cur.rlim_max);
  sb_add (&sb, " and raising it needs CAP_SYS_RESOURCE: clamped to soft ");
  sb_num (&sb, (long long) clamped.rlim_cur);
  sb_add (&sb, ", hard ");
  sb_num (&sb, (long long) clamped.rlim_max);
  child_warn (ctx, text);
  return 0;
}

int
child_setup_process (struct child_ctx *ctx)
{
  const struct plan *plan = ctx->plan;
  if (plan->hostname && sethostname (plan->hostname, strlen (plan->hostname)) < 0)
    return child_fail (ctx, STAGE_PROCESS, errno, "sethostname ", plan->hostname, NULL, NULL);
  if (plan->domainname && setdomainname (plan->domainname, strlen (plan->domainname)) < 0)
    return child_fail (ctx, STAGE_PROCESS, errno, "setdomainname ", plan->domainname, NULL, NULL);

  struct plan_iter it;
  struct plan_section_view s;
  plan_iter_init (plan, &it);
  while (plan_next (&it, PLAN_SYSCTL, &s))
    {
      /* key is already a path below /proc/sys (net/ipv4/ip_forward) */
      const char *key = (const char *) s.payload;
      const char *value = plan_next_string (key);
      char path[PATH_MAX];
      struct strbuf sb;
      sb_init (&sb, path, sizeof path);
      sb_add (&sb, "/proc/sys/");
      sb_add (&sb, key);
      int ret = write_file (path, value);
      if (ret < 0)
        return child_fail (ctx, STAGE_PROCESS, -ret, "write sysctl ", path, NULL, NULL);
    }

  plan_iter_init (plan, &it);
  while (plan_next (&it, PLAN_RLIMIT, &s))
    {
      struct plan_rlimit rl;
      memcpy (&rl, s.payload, sizeof rl);
      int ret = set_rlimit (ctx, &rl);
      if (ret < 0)
        return ret;
    }

  if (plan->config.flags & PLAN_FLAG_OOM_SCORE_ADJ)
    {
      char value[16];
      struct strbuf sb;
      sb_init (&sb, value, sizeof value);
      sb_num (&sb, plan->config.oom_score_adj);
      int ret = write_file ("/proc/self/oom_score_adj", value);
      if (ret < 0)
        return child_fail (ctx, STAGE_PROCESS, -ret, "write /proc/self/oom_score_adj ", value, NULL, NULL);
    }
  return 0;
}

static int
setgroups_denied (void)
{
  char buf[8] = { 0 };
  int fd = open ("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  return n >= 4 && strncmp (buf, "deny", 4) == 0;
}

int
child_set_user (struct child_ctx *ctx)
{
  const struct plan *plan = ctx->plan;
  static gid_t groups[NGROUPS_MAX];
  uint32_t n = plan->ngroups < NGROUPS_MAX ? plan->ngroups : NGROUPS_MAX;
  memcpy (groups, plan->groups ? plan->groups : (const uint8_t *) groups, n * sizeof (gid_t));
  char id[16];
  struct strbuf sb;

  /* a user namespace whose setgroups is "deny" (an unprivileged user mapping
     only its own ids) keeps its empty list: nothing to drop (runc does the same) */
  if (setgroups (n, groups) < 0 && !(errno == EPERM && n == 0 && setgroups_denied ()))
    return child_fail (ctx, STAGE_USER, errno, "setgroups (process.user.additionalGids)", NULL, NULL, NULL);
  if (setresgid (plan->config.gid, plan->config.gid, plan->config.gid) < 0)
    {
      sb_init (&sb, id, sizeof id);
      sb_num (&sb, plan->config.gid);
      return child_fail (ctx, STAGE_USER, errno, "setgid ", id, NULL, NULL);
    }
  if (setresuid (plan->config.uid, plan->config.uid, plan->config.uid) < 0)
    {
      sb_init (&sb, id, sizeof id);
      sb_num (&sb, plan->config.uid);
      return child_fail (ctx, STAGE_USER, errno, "setuid ", id, NULL, NULL);
    }
  umask (plan->config.flags & PLAN_FLAG_UMASK ? plan->config.umask : 022);
  if (chdir (plan->cwd) < 0)
    return child_fail (ctx, STAGE_USER, errno, "chdir to the cwd ", plan->cwd, " (process.cwd)", NULL);
  return 0;
}

static const char *
env_path (const struct plan *plan)
{
  const char *s = plan->env_strings;
  for (uint32_t i = 0; i < plan->envc; i++, s = plan_next_string (s))
    if (strncmp (s, "PATH=", 5) == 0)
      return s + 5;
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

static int
is_executable_file (const char *path)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return -errno;
  if (!S_ISREG (st.st_mode))
    return -EACCES;
  return access (path, X_OK) < 0 ? -errno : 0;
}

/* execvpe's search, done before waiting on the exec fifo so that a missing
   command is a create-time error (as runc's LookPath). */
int
child_find_executable (struct child_ctx *ctx, char *out, size_t cap)
{
  const char *name = ctx->plan->argv_strings;
  struct strbuf sb;
  if (strchr (name, '/'))
    {
      int ret = is_executable_file (name);
      if (ret < 0)
        return child_fail (ctx, STAGE_EXEC, -ret, "exec \"", name, "\"", NULL);
      sb_init (&sb, out, cap);
      sb_add (&sb, name);
      return 0;
    }
  int saw_eacces = 0;
  const char *p = env_path (ctx->plan);
  while (1)
    {
      const char *colon = strchr (p, ':');
      size_t dirlen = colon ? (size_t) (colon - p) : strlen (p);
      char dir[PATH_MAX];
      if (dirlen < sizeof dir)
        {
          memcpy (dir, p, dirlen);
          dir[dirlen] = '\0';
          sb_init (&sb, out, cap);
          sb_add (&sb, dirlen ? dir : ".");
          sb_add (&sb, "/");
          sb_add (&sb, name);
          if (!sb_full (&sb))
            {
              int ret = is_executable_file (out);
              if (ret == 0)
                return 0;
              saw_eacces |= ret == -EACCES;
            }
        }
      if (!colon)
        break;
      p = colon + 1;
    }
  if (saw_eacces)
    return child_fail (ctx, STAGE_EXEC, EACCES, "exec \"", name, "\": permission denied", NULL);
  return child_fail (ctx, STAGE_EXEC, ENOENT, "exec: \"", name, "\": executable file not found in $PATH", NULL);
}

int
child_wait_exec_fifo (struct child_ctx *ctx)
{
  if (ctx->fifofd < 0)
    return 0;
  char path[64];
  child_fd_path (path, sizeof path, ctx->fifofd);
  /* blocks until `start` opens the fifo for reading */
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return child_fail (ctx, STAGE_EXEC_FIFO, errno, "open the exec fifo through ", path, " (is /proc mounted?)", NULL);
  ssize_t n = write (fd, "0", 1);
  int saved = errno;
  close (fd);
  close (ctx->fifofd);
  ctx->fifofd = -1;
  if (n != 1)
    return child_fail (ctx, STAGE_EXEC_FIFO, n < 0 ? saved : EIO, "write the exec fifo", NULL, NULL, NULL);
  return 0;
}

int
child_exec (struct child_ctx *ctx, const char *path)
{
  const struct plan *plan = ctx->plan;
  const char *argv[plan->argc + 1];
  const char *envp[plan->envc + 1];
  const char *s = plan->argv_strings;
  for (uint32_t i = 0; i < plan->argc; i++, s = plan_next_string (s))
    argv[i] = s;
  argv[plan->argc] = NULL;
  s = plan->env_strings;
  for (uint32_t i = 0; i < plan->envc; i++, s = plan_next_string (s))
    envp[i] = s;
  envp[plan->envc] = NULL;
  execve (path, (char *const *) argv, (char *const *) envp);
  return child_fail (ctx, STAGE_EXEC, errno, "exec \"", path, "\"", NULL);
}

/* --preserve-fds: containr-init holds the caller's fds 3 .. 3+n-1 at
   SPAWN_FIRST_FREE_FD ...; put them back at 3 .. for the process, after
   moving the sync socket above them (it still reports an exec failure). */
int
child_place_preserved_fds (struct child_ctx *ctx)
{
  uint32_t n = ctx->plan->preserve_fds;
  if (n == 0)
    return 0;
  int sock = fcntl (ctx->sock, F_DUPFD_CLOEXEC, SPAWN_FIRST_FREE_FD + (int) n);
  if (sock < 0)
    return child_fail (ctx, STAGE_EXEC, errno, "move the sync socket above the preserved fds", NULL, NULL, NULL);
  close (ctx->sock);
  ctx->sock = sock;
  /* ascending: a target 3+i is a source SPAWN_FIRST_FREE_FD+j only for j < i, already moved */
  for (uint32_t i = 0; i < n; i++)
    if (dup2 (SPAWN_FIRST_FREE_FD + (int) i, 3 + (int) i) < 0)
      return child_fail (ctx, STAGE_EXEC, errno, "pass a preserved fd (--preserve-fds)", NULL, NULL, NULL);
  int first_stale = 3 + (int) n > SPAWN_FIRST_FREE_FD ? 3 + (int) n : SPAWN_FIRST_FREE_FD;
  for (int fd = first_stale; fd < SPAWN_FIRST_FREE_FD + (int) n; fd++)
    close (fd);
  return 0;
}
