/*
 * containr-reaper -- COMMAND [ARG...]
 *
 * The init `run --init` puts at pid 1 (tini's and catatonit's role): it
 * starts COMMAND as its child, forwards every signal it receives to it,
 * reaps every process that ends up parented to it (orphans of the
 * container re-parent to pid 1), and when COMMAND exits, exits with its
 * status (128+N when a signal N ended it). Static and single-threaded; it
 * bind-mounts read-only into the container, so it must need nothing there.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Synchronous signals stay unblocked: they belong to the reaper itself. */
static const int own_signals[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU };

static void
fail (const char *what, int err)
{
  dprintf (2, "containr-reaper: %s: %s\n", what, strerror (err));
}

static int
status_code (int status)
{
  return WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status);
}

int
main (int argc, char **argv)
{
  int first = 1;
  if (first < argc && strcmp (argv[first], "--") == 0)
    first++;
  if (first >= argc)
    {
      dprintf (2, "usage: containr-reaper -- COMMAND [ARG...]\n");
      return 2;
    }
  /* not pid 1 (exec'd by hand): orphans still come here */
  if (getpid () != 1)
    prctl (PR_SET_CHILD_SUBREAPER, 1);

  sigset_t all, previous;
  sigfillset (&all);
  for (size_t i = 0; i < sizeof own_signals / sizeof own_signals[0]; i++)
    sigdelset (&all, own_signals[i]);
  if (sigprocmask (SIG_SETMASK, &all, &previous) < 0)
    {
      fail ("block signals", errno);
      return 1;
    }

  pid_t child = fork ();
  if (child < 0)
    {
      fail ("fork", errno);
      return 1;
    }
  if (child == 0)
    {
      /* its own process group, in the terminal's foreground when there is one: a ctrl-c on the
         terminal then reaches the command once, not also through the reaper's forwarding */
      setpgid (0, 0);
      if (isatty (STDIN_FILENO))
        {
          signal (SIGTTOU, SIG_IGN);
          tcsetpgrp (STDIN_FILENO, getpid ());
          signal (SIGTTOU, SIG_DFL);
        }
      sigprocmask (SIG_SETMASK, &previous, NULL);
      execvp (argv[first], argv + first);
      int err = errno;
      dprintf (2, "containr-reaper: exec %s: %s\n", argv[first], strerror (err));
      _exit (err == ENOENT ? 127 : 126);
    }

  for (;;)
    {
      siginfo_t info;
      int sig = sigwaitinfo (&all, &info);
      if (sig < 0)
        {
          if (errno == EINTR)
            continue;
          fail ("wait for a signal", errno);
          return 1;
        }
      if (sig != SIGCHLD)
        {
          /* the child may be gone already: ESRCH is fine */
          kill (child, sig);
          continue;
        }
      int status;
      pid_t pid;
      while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
        if (pid == child)
          return status_code (status);
    }
}
