/* The hooks that run inside the container: createContainer (in its
   namespaces, before the pivot) and startContainer (after start, before
   the process's execve). Each gets the state JSON on stdin (pid as the
   container sees itself, as runc's init reports it), its own env, a
   timeout, and its output kept for the error message. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fdio.h"
#include "runtime.h"

#define HOOK_OUTPUT_MAX 256

static const char *
hook_kind_name (uint32_t kind)
{
  return kind == PLAN_HOOK_CREATE_CONTAINER ? "createContainer" : "startContainer";
}

static const char *
state_template (const struct plan *plan, uint32_t kind)
{
  const char *state = plan_keyed_string (plan, PLAN_HOOK_STATE, kind);
  return state ? state : "{\"pid\":";
}

static int
run_hook (struct child_ctx *ctx, const struct plan_hook_head *head, const char *path, const char *strings, int index)
{
  const char *argv[head->argc + 2];
  const char *envp[head->envc + 1];
  const char *s = strings;
  for (uint32_t i = 0; i < head->argc; i++, s = plan_next_string (s))
    argv[i] = s;
  if (head->argc == 0)
    argv[0] = path;
  argv[head->argc ? head->argc : 1] = NULL;
  for (uint32_t i = 0; i < head->envc; i++, s = plan_next_string (s))
    envp[i] = s;
  envp[head->envc] = NULL;

  char where[64];
  struct strbuf sb;
  sb_init (&sb, where, sizeof where);
  sb_add (&sb, "hooks.");
  sb_add (&sb, hook_kind_name (head->kind));
  sb_add (&sb, "[");
  sb_num (&sb, index);
  sb_add (&sb, "] ");

  int in[2], out[2];
  if (pipe2 (in, O_CLOEXEC) < 0)
    return child_fail (ctx, STAGE_HOOKS, errno, where, "pipe", NULL, NULL);
  if (pipe2 (out, O_CLOEXEC) < 0)
    {
      close (in[0]), close (in[1]);
      return child_fail (ctx, STAGE_HOOKS, errno, where, "pipe", NULL, NULL);
    }
  pid_t pid = fork ();
  if (pid < 0)
    return child_fail (ctx, STAGE_HOOKS, errno, where, "fork", NULL, NULL);
  if (pid == 0)
    {
      dup2 (in[0], 0);
      dup2 (out[1], 1);
      dup2 (out[1], 2);
      execve (path, (char *const *) argv, (char *const *) envp);
      _exit (127);
    }
  close (in[0]);
  close (out[1]);
  char pid_text[24];
  sb_init (&sb, pid_text, sizeof pid_text);
  sb_num (&sb, getpid ());
  const char *state = state_template (ctx->plan, head->kind);
  /* a hook that does not read its stdin is not an error (EPIPE is ignored: SIGPIPE is SIG_DFL, so block it) */
  sigset_t pipe_set, old;
  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  sigprocmask (SIG_BLOCK, &pipe_set, &old);
  if (fdio_write_all (in[1], state, strlen (state)) == 0 && fdio_write_all (in[1], pid_text, strlen (pid_text)) == 0)
    fdio_write_all (in[1], "}", 1);
  close (in[1]);

  char output[HOOK_OUTPUT_MAX];
  size_t used = 0;
  int status = 0, timed_out = 0;
  long long deadline = head->timeout ? fdio_now_ms () + head->timeout * 1000LL : -1;
  for (int open_out = 1; open_out;)
    {
      struct pollfd pfd = { .fd = out[0], .events = POLLIN };
      int wait_ms = deadline < 0 ? -1 : (int) (deadline - fdio_now_ms () > 0 ? deadline - fdio_now_ms () : 0);
      int r = poll (&pfd, 1, wait_ms);
      if (r < 0 && errno == EINTR)
        continue;
      if (r == 0)
        {
          timed_out = 1;
          kill (pid, SIGKILL);
          break;
        }
      char buf[512];
      ssize_t n = read (out[0], buf, sizeof buf);
      if (n <= 0)
        open_out = 0;
      else if (used < sizeof output - 1)
        {
          size_t take = (size_t) n < sizeof output - 1 - used ? (size_t) n : sizeof output - 1 - used;
          memcpy (output + used, buf, take);
          used += take;
        }
    }
  close (out[0]);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  sigprocmask (SIG_SETMASK, &old, NULL);
  output[used] = '\0';
  while (used > 0 && (output[used - 1] == '\n' || output[used - 1] == ' '))
    output[--used] = '\0';
  if (timed_out)
    return child_fail (ctx, STAGE_HOOKS, ETIMEDOUT, where, path, ": timed out", NULL);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  char why[HOOK_OUTPUT_MAX + 64];
  sb_init (&sb, why, sizeof why);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127 && used == 0)
    sb_add (&sb, ": cannot execute it");
  else
    {
      sb_add (&sb, WIFSIGNALED (status) ? ": killed by signal " : ": exit status ");
      sb_num (&sb, WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
    }
  if (used)
    {
      sb_add (&sb, ": ");
      sb_add (&sb, output);
    }
  return child_fail (ctx, STAGE_HOOKS, ECANCELED, where, path, why, NULL);
}

int
child_run_hooks (struct child_ctx *ctx, uint32_t kind)
{
  struct plan_iter it;
  struct plan_section_view s;
  int index = 0;
  plan_iter_init (ctx->plan, &it);
  while (plan_next (&it, PLAN_HOOK, &s))
    {
      struct plan_hook_head head;
      memcpy (&head, s.payload, sizeof head);
      if (head.kind != kind)
        continue;
      const char *path = (const char *) s.payload + sizeof head;
      int ret = run_hook (ctx, &head, path, plan_next_string (path), index++);
      if (ret < 0)
        return ret;
    }
  return 0;
}

/* The parent runs prestart and createRuntime hooks (in its namespaces)
   while the init waits, mounted but not yet pivoted (runc's procHooks). */
int
child_wait_runtime_hooks (struct child_ctx *ctx)
{
  if (!(ctx->plan->config.flags & PLAN_FLAG_RUNTIME_HOOKS))
    return 0;
  return child_ask_parent (ctx, STAGE_HOOKS, SYNC_CHILD_HOOKS, SYNC_HOOKS_DONE, "its prestart and createRuntime hooks");
}
