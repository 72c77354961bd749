/* Host-side process helpers for the runtime's parent: waiting with signal
   forwarding (`oci run`), pidfds, the exec fifo's reader (`oci start`),
   mkfifo and flock, which Node's fs lacks. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "containr.h"
#include "fdio.h"

static volatile pid_t forward_target;

static void
forward_signal (int sig)
{
  int saved = errno;
  if (forward_target > 0)
    kill (forward_target, sig);
  errno = saved;
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
#define NFORWARDED (sizeof forwarded / sizeof forwarded[0])

static struct sigaction forward_saved[NFORWARDED];
static int forward_armed;

/*
 * FFI: from now on, forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
 * SIGUSR2 to pid (JS handlers cannot run while an FFI call blocks). `oci run`
 * arms this as soon as the container's init exists, so that no signal falls
 * between its execve and the wait and kills the CLI instead.
 */
CONTAINR_EXPORT void
containr_forward_signals (int pid)
{
  forward_target = pid;
  if (forward_armed)
    return;
  struct sigaction fwd;
  memset (&fwd, 0, sizeof fwd);
  fwd.sa_handler = forward_signal;
  sigemptyset (&fwd.sa_mask);
  for (size_t i = 0; i < NFORWARDED; i++)
    sigaction (forwarded[i], &fwd, &forward_saved[i]);
  forward_armed = 1;
}

/* FFI: give the signals back their earlier dispositions. */
CONTAINR_EXPORT void
containr_stop_forwarding (void)
{
  if (!forward_armed)
    return;
  for (size_t i = 0; i < NFORWARDED; i++)
    sigaction (forwarded[i], &forward_saved[i], NULL);
  forward_armed = 0;
  forward_target = 0;
}

/*
 * FFI: wait for a child of this process to exit, forwarding the signals
 * above to it meanwhile, then stop forwarding. Returns the exit status as a
 * shell reports it (128+n for signal n), or -errno.
 */
CONTAINR_EXPORT int
containr_wait_forwarding (int pid)
{
  containr_forward_signals (pid);
  int status = containr_reap (pid);
  containr_stop_forwarding ();
  return status;
}

/* FFI: reap a child without forwarding (after an error). Exit status as above, or -errno. */
CONTAINR_EXPORT int
containr_reap (int pid)
{
  int status = 0, ret;
  do
    ret = waitpid (pid, &status, __WALL);
  while (ret < 0 && errno == EINTR);
  if (ret < 0)
    return -errno;
  return WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status);
}

CONTAINR_EXPORT int
containr_pidfd_open (int pid)
{
  int fd = syscall (SYS_pidfd_open, pid, 0);
  return fd < 0 ? -errno : fd;
}

CONTAINR_EXPORT int
containr_pidfd_send_signal (int pidfd, int sig)
{
  return syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

/* FFI: wait until the process behind pidfd exits: 1, 0 on timeout, -errno. */
CONTAINR_EXPORT int
containr_pidfd_wait (int pidfd, int timeout_ms)
{
  return fdio_wait_readable (pidfd, timeout_ms);
}

CONTAINR_EXPORT int
containr_close (int fd)
{
  return close (fd) < 0 ? -errno : 0;
}

/* The mode exactly as given: the umask (022 by default) would turn runc's 0622
   into 0600, and a container whose process.user is not root could then not
   open the exec fifo to signal that it is ready (the umask is the whole Bun
   process's, so it is not changed; the mode is set again instead). */
CONTAINR_EXPORT int
containr_mkfifo (const char *path, int mode)
{
  if (mkfifo (path, mode) < 0)
    return -errno;
  return chmod (path, mode) < 0 ? -errno : 0;
}

/*
 * FFI, `oci start`: open the exec fifo for reading, which releases the
 * container's init blocked opening it for writing, and read its byte.
 * Watches the init's pidfd at the same time, so a dead init is an error
 * (-ESRCH) rather than a hang. Returns 0, -ESRCH, -ETIMEDOUT or -errno.
 */
CONTAINR_EXPORT int
containr_exec_fifo_release (const char *path, int pidfd, int timeout_ms)
{
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
  int ret;
  for (;;)
    {
      int r = poll (pfd, 2, timeout_ms);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          ret = -errno;
          break;
        }
      if (r == 0)
        {
          ret = -ETIMEDOUT;
          break;
        }
      if (pfd[0].revents & POLLIN)
        {
          char byte;
          ssize_t n = read (fd, &byte, 1);
          if (n == 1)
            {
              ret = 0;
              break;
            }
          if (n < 0 && errno != EAGAIN)
            {
              ret = -errno;
              break;
            }
        }
      if (pfd[1].revents & POLLIN)
        {
          ret = -ESRCH;
          break;
        }
      if (pfd[0].revents & POLLHUP)
        {
          /* the writer came and went without writing: it failed */
          ret = -EPIPE;
          break;
        }
    }
  close (fd);
  return ret;
}

/* FFI: flock(fd, op) with EINTR retried; op is LOCK_EX, LOCK_SH, LOCK_UN (| LOCK_NB). */
CONTAINR_EXPORT int
containr_flock (int fd, int op)
{
  int r;
  do
    r = flock (fd, op);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}
