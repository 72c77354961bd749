/* Host-side terminal helpers for the runtime's parent: receiving a pty
   master over a unix socket (SCM_RIGHTS; the console socket protocol of
   runc, and the sync socket), a unix socket server for console sockets,
   and relaying a pty to the caller's terminal for a foreground `oci run`
   or `oci exec -t` without --console-socket. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include "containr.h"
#include "fdio.h"

/*
 * FFI: receive one message of at most cap bytes into buf, with the fd it
 * carries in *fd (-1 when none), waiting at most timeout_ms (-1: forever).
 * Returns the message's length, 0 on EOF, -ETIMEDOUT or -errno.
 */
CONTAINR_EXPORT int
containr_recv_fd (int sock, void *buf, int cap, int timeout_ms, int32_t *fd)
{
  *fd = -1;
  int r = fdio_wait_readable (sock, timeout_ms);
  if (r < 0)
    return r;
  if (r == 0)
    return -ETIMEDOUT;
  ssize_t n = fdio_recv_fd (sock, buf, (size_t) cap, 0, fd);
  return n == -ECONNRESET ? 0 : (int) n;
}

/* FFI: a listening unix stream socket at path (console socket servers). fd or -errno. */
CONTAINR_EXPORT int
containr_unix_listen (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    return -ENAMETOOLONG;
  memcpy (addr.sun_path, path, strlen (path) + 1);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 8) < 0)
    {
      int saved = errno;
      close (fd);
      return -saved;
    }
  return fd;
}

/* FFI: accept one connection, waiting at most timeout_ms. fd, -ETIMEDOUT or -errno. */
CONTAINR_EXPORT int
containr_accept (int fd, int timeout_ms)
{
  int r = fdio_wait_readable (fd, timeout_ms);
  if (r < 0)
    return r;
  if (r == 0)
    return -ETIMEDOUT;
  int c = accept4 (fd, NULL, NULL, SOCK_CLOEXEC);
  return c < 0 ? -errno : c;
}

static volatile pid_t relay_target;
static volatile sig_atomic_t winch_seen;

static void
relay_signal (int sig)
{
  int saved = errno;
  if (sig == SIGWINCH)
    winch_seen = 1;
  else if (relay_target > 0)
    kill (relay_target, sig);
  errno = saved;
}

static void
copy_winsize (int from, int to)
{
  struct winsize ws;
  if (ioctl (from, TIOCGWINSZ, &ws) == 0)
    ioctl (to, TIOCSWINSZ, &ws);
}

/*
 * FFI: relay the caller's stdin/stdout to a pty master until the pty
 * closes, with the caller's terminal (if stdin is one) in raw mode and its
 * size copied on SIGWINCH; TERM, HUP, QUIT, USR1 and USR2 go to pid (INT
 * reaches it as ^C through the pty). Then reaps pid and returns its exit
 * status as a shell reports it (128+n for signal n), or -errno.
 */
CONTAINR_EXPORT int
containr_tty_relay (int master, int pid)
{
  static const int forwarded[] = { SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
  struct sigaction act, old[sizeof forwarded / sizeof forwarded[0]];
  memset (&act, 0, sizeof act);
  act.sa_handler = relay_signal;
  sigemptyset (&act.sa_mask);
  relay_target = pid;
  winch_seen = 0;
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
    sigaction (forwarded[i], &act, &old[i]);

  struct termios saved_tio, raw;
  int is_tty = tcgetattr (STDIN_FILENO, &saved_tio) == 0;
  if (is_tty)
    {
      raw = saved_tio;
      cfmakeraw (&raw);
      tcsetattr (STDIN_FILENO, TCSANOW, &raw);
      copy_winsize (STDIN_FILENO, master);
    }
  struct pollfd pfd[2] = { { .fd = master, .events = POLLIN }, { .fd = STDIN_FILENO, .events = POLLIN } };
  char buf[8192];
  for (;;)
    {
      if (winch_seen)
        {
          winch_seen = 0;
          if (is_tty)
            copy_winsize (STDIN_FILENO, master);
        }
      int r = poll (pfd, 2, -1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        break;
      if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = read (master, buf, sizeof buf);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0 || fdio_write_all (STDOUT_FILENO, buf, (size_t) n) < 0)
            break; /* EIO: every peer of the pty is closed */
        }
      if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
          if (n <= 0)
            pfd[1].fd = -1; /* end of our input: keep showing the output */
          else if (fdio_write_all (master, buf, (size_t) n) < 0)
            break;
        }
    }
  if (is_tty)
    tcsetattr (STDIN_FILENO, TCSANOW, &saved_tio);

  int status = containr_reap (pid);
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
    sigaction (forwarded[i], &old[i], NULL);
  relay_target = 0;
  return status;
}
