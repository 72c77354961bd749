/*
 * containr-monitor [options] -- CREATE-COMMAND...
 *
 *   -c ID        the container's id (for messages)
 *   -d DIR       the container's run directory: attach socket, exit file
 *   -p FILE      where CREATE-COMMAND writes the init's pid (relative to DIR)
 *   -l FILE      the json-file log; -s BYTES and -n FILES rotate it (0: never)
 *   -i           keep the container's stdin open (a pipe fed by attach clients)
 *   -t           a terminal: listen on DIR/console, put its path in place of
 *                the create command's argument "@console-socket@" (runc's
 *                --console-socket), and relay the pty master it receives as
 *                the container's stdout (and stdin with -i)
 *   -x ARG       one word of the exit command (repeated), run after the exit
 *                unless an attach client that took it over (attach.c) removed
 *                DIR before it closed its connection
 *
 * As conmon: the monitor makes itself a child subreaper, starts
 * CREATE-COMMAND (the runtime's create) with the container's stdio pipes as
 * its stdio, and when that exits the container's init, left waiting on its
 * exec fifo, is re-parented to the monitor. The monitor then reports
 * "ready PID\n" (or "failed STATUS\n") on its stdout, which is the engine's
 * pipe, and detaches from it. It logs and relays output until the init
 * exited and the pipes are drained, writes DIR/exit.json atomically
 * ({"exitCode":N,"finishedAt":"..."}), runs the exit command and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fdio.h"
#include "monitor.h"

#define MAX_EXIT_ARGS 64
/* Docker's json-file splits lines longer than 16 KiB into partial entries. */
#define LINE_MAX_BYTES (16 * 1024)
/* After the init exited, output still in flight (or held by an orphan that
   escaped the pid namespace) is read for at most this long. */
#define DRAIN_MS 2000
/* How long a client that took over the clean-up may take before the exit command runs anyway. */
#define CLEANUP_WAIT_MS 30000
/* The create command's argument that -t replaces with the console socket's path. */
#define CONSOLE_PLACEHOLDER "@console-socket@"

static const char *container_id = "?";

void
mon_fail (const char *stage, int err, const char *detail)
{
  /* stderr is the engine's diagnostics until ready, /dev/null afterwards */
  dprintf (2, "containr-monitor %s: %s: %s: %s\n", container_id, stage, strerror (err), detail ? detail : "");
}

struct stream_buf
{
  int fd;
  enum mon_stream stream;
  size_t len;
  char data[LINE_MAX_BYTES];
};

static struct mon_log logfile = { .fd = -1 };

static void
emit (struct stream_buf *sb, const char *data, size_t len)
{
  mon_log_write (&logfile, sb->stream, data, len);
}

/* Log complete lines as they come; a line that fills the buffer is logged as a partial entry. */
static void
consume (struct stream_buf *sb, const char *data, size_t len)
{
  mon_attach_broadcast (sb->stream, data, len);
  while (len > 0)
    {
      size_t room = sizeof sb->data - sb->len;
      size_t take = len < room ? len : room;
      const char *nl = memchr (data, '\n', take);
      if (nl != NULL)
        take = (size_t) (nl - data) + 1;
      memcpy (sb->data + sb->len, data, take);
      sb->len += take;
      data += take;
      len -= take;
      if (nl != NULL || sb->len == sizeof sb->data)
        {
          emit (sb, sb->data, sb->len);
          sb->len = 0;
        }
    }
}

/* Read what is available; returns 0 at EOF (and closes the fd). */
static int
pump (struct stream_buf *sb)
{
  char buf[32768];
  for (;;)
    {
      ssize_t r = read (sb->fd, buf, sizeof buf);
      if (r > 0)
        {
          consume (sb, buf, (size_t) r);
          continue;
        }
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 && errno == EAGAIN)
        return 1;
      if (sb->len > 0)
        emit (sb, sb->data, sb->len);
      sb->len = 0;
      close (sb->fd);
      sb->fd = -1;
      return 0;
    }
}

static int
exit_code_of (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 255;
}

static int
write_exit_file (int dirfd, int code, const char *finished)
{
  char text[256];
  int len = snprintf (text, sizeof text, "{\"exitCode\":%d,\"finishedAt\":\"%s\"}\n", code, finished);
  /* the file first: a client that takes over the clean-up reads it when the frame arrives */
  int fd = openat (dirfd, "exit.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      mon_fail ("write the exit file", errno, "exit.json.tmp");
      return -1;
    }
  int ok = write (fd, text, (size_t) len) == len && fsync (fd) == 0;
  close (fd);
  if (!ok || renameat (dirfd, "exit.json.tmp", dirfd, "exit.json") < 0)
    {
      mon_fail ("write the exit file", errno, "exit.json");
      mon_attach_broadcast (MON_EXIT, text, (size_t) len);
      return -1;
    }
  mon_attach_broadcast (MON_EXIT, text, (size_t) len);
  return 0;
}

static pid_t
spawn (char *const argv[], int in, int out, int err)
{
  pid_t pid = fork ();
  if (pid != 0)
    return pid;
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  signal (SIGHUP, SIG_DFL);
  signal (SIGINT, SIG_DFL);
  if (dup2 (in, 0) < 0 || dup2 (out, 1) < 0 || dup2 (err, 2) < 0)
    _exit (126);
  syscall (SYS_close_range, 3, ~0U, 0);
  execv (argv[0], argv);
  _exit (errno == ENOENT ? 127 : 126);
}

static int
read_pid (int dirfd, const char *name)
{
  char buf[32] = { 0 };
  int fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t r = read (fd, buf, sizeof buf - 1);
  close (fd);
  return r > 0 ? atoi (buf) : -1;
}

/* The pty master the runtime sent over the console socket (SCM_RIGHTS), or -1. */
static int
receive_master (int listen_fd)
{
  int conn = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    {
      mon_fail ("accept the runtime on the console socket", errno, NULL);
      return -1;
    }
  char name[128];
  int master;
  ssize_t r = fdio_recv_fd (conn, name, sizeof name, MSG_DONTWAIT, &master);
  close (conn);
  if (master < 0)
    mon_fail ("receive the pty master", r < 0 ? (int) -r : EBADMSG, "the runtime sent no descriptor");
  return master;
}

static void
usage (void)
{
  dprintf (2, "usage: containr-monitor -c ID -d DIR -p PIDFILE [-l LOG -s BYTES -n FILES] [-i] [-t] [-x ARG]... -- CREATE-COMMAND...\n");
  exit (2);
}

int
main (int argc, char **argv)
{
  const char *dir = NULL, *pidfile = NULL, *logpath = NULL;
  unsigned long long max_size = 0;
  unsigned max_files = 1;
  int keep_stdin = 0, terminal = 0;
  char *exit_argv[MAX_EXIT_ARGS + 1];
  int nexit = 0, opt;

  while ((opt = getopt (argc, argv, "+c:d:p:l:s:n:itx:")) != -1)
    switch (opt)
      {
      case 'c': container_id = optarg; break;
      case 'd': dir = optarg; break;
      case 'p': pidfile = optarg; break;
      case 'l': logpath = optarg; break;
      case 's': max_size = strtoull (optarg, NULL, 10); break;
      case 'n': max_files = (unsigned) strtoul (optarg, NULL, 10); break;
      case 'i': keep_stdin = 1; break;
      case 't': terminal = 1; break;
      case 'x':
        if (nexit == MAX_EXIT_ARGS)
          usage ();
        exit_argv[nexit++] = optarg;
        break;
      default: usage ();
      }
  exit_argv[nexit] = NULL;
  if (dir == NULL || pidfile == NULL || optind >= argc)
    usage ();
  char **create_argv = argv + optind;

  /* orphans below us (the init, once the create command exits) become our children */
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    {
      mon_fail ("become a subreaper", errno, NULL);
      return 1;
    }
  setsid ();
  signal (SIGPIPE, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  signal (SIGINT, SIG_IGN);
  int dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0 || fchdir (dirfd) < 0)
    {
      mon_fail ("open the run directory", errno, dir);
      return 1;
    }
  if (logpath != NULL && mon_log_open (&logfile, logpath, max_size, max_files) < 0)
    return 1;

  sigset_t chld;
  sigemptyset (&chld);
  sigaddset (&chld, SIGCHLD);
  sigprocmask (SIG_BLOCK, &chld, NULL);
  int sigfd = signalfd (-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  int listen_fd = mon_attach_listen (dirfd, "attach");
  int out[2], err[2], in[2] = { -1, -1 };
  /* with a terminal the init's stdio is the pty; the create command itself logs to its --log */
  int piped = !terminal;
  if (sigfd < 0 || listen_fd < 0
      || (piped ? pipe2 (out, O_CLOEXEC) : (out[0] = -1, out[1] = open ("/dev/null", O_WRONLY | O_CLOEXEC))) < 0
      || (piped ? pipe2 (err, O_CLOEXEC) : (err[0] = -1, err[1] = open ("/dev/null", O_WRONLY | O_CLOEXEC))) < 0
      || (keep_stdin && piped ? pipe2 (in, O_CLOEXEC) : (in[0] = open ("/dev/null", O_RDONLY | O_CLOEXEC))) < 0)
    {
      mon_fail ("set up the container's stdio", errno, NULL);
      return 1;
    }
  int console_fd = -1;
  char console_path[64];
  if (terminal)
    {
      console_fd = mon_attach_listen (dirfd, "console");
      if (console_fd < 0)
        return 1;
      /* containr-init connects from the host's mount namespace, before it joins the container's */
      snprintf (console_path, sizeof console_path, "/proc/%d/fd/%d/console", (int) getpid (), dirfd);
      for (char **arg = create_argv; *arg != NULL; arg++)
        if (strcmp (*arg, CONSOLE_PLACEHOLDER) == 0)
          *arg = console_path;
    }

  pid_t creator = spawn (create_argv, in[0], out[1], err[1]);
  if (creator < 0)
    {
      mon_fail ("start the create command", errno, create_argv[0]);
      return 1;
    }
  close (in[0]);
  close (out[1]);
  close (err[1]);
  int stdin_fd = in[1];
  struct stream_buf streams[2];
  streams[0].fd = out[0], streams[0].stream = MON_STDOUT, streams[0].len = 0;
  streams[1].fd = err[0], streams[1].stream = MON_STDERR, streams[1].len = 0;

  int status;
  while (waitpid (creator, &status, 0) < 0 && errno == EINTR)
    ;
  pid_t init = status == 0 ? read_pid (dirfd, pidfile) : -1;
  if (init > 0 && terminal)
    {
      /* the runtime sent the master before the create command exited: it waits in the socket's queue */
      int master = receive_master (console_fd);
      close (console_fd);
      unlinkat (dirfd, "console", 0);
      if (master < 0)
        {
          kill (init, SIGKILL);
          init = -1;
        }
      else
        {
          streams[0].fd = master;
          stdin_fd = keep_stdin ? fcntl (master, F_DUPFD_CLOEXEC, 3) : -1;
          mon_attach_set_terminal (master);
        }
    }
  for (int s = 0; s < 2; s++)
    if (streams[s].fd >= 0)
      fcntl (streams[s].fd, F_SETFL, O_NONBLOCK);
  if (init <= 0)
    {
      /* the create command reported why (its --log); nothing of the container is left */
      dprintf (1, "failed %d\n", status == 0 ? 255 : exit_code_of (status));
      return 1;
    }
  dprintf (1, "ready %d\n", init);
  int devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  dup2 (devnull, 1);
  dup2 (devnull, 2);
  close (devnull);

  int exited = 0, code = -1;
  char finished[64] = "";
  long long drain_deadline = 0;
  for (;;)
    {
      struct pollfd pfds[4 + 64];
      size_t n = 0;
      pfds[n++] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
      pfds[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
      pfds[n++] = (struct pollfd){ .fd = streams[0].fd, .events = POLLIN };
      pfds[n++] = (struct pollfd){ .fd = streams[1].fd, .events = POLLIN };
      size_t nc = mon_attach_pollfds (pfds + n, 64);
      int timeout = -1;
      if (exited)
        {
          long long left = drain_deadline - fdio_now_ms ();
          if ((streams[0].fd < 0 && streams[1].fd < 0) || left <= 0)
            break;
          timeout = (int) left;
        }
      if (poll (pfds, n + nc, timeout) < 0 && errno != EINTR)
        {
          mon_fail ("poll", errno, NULL);
          break;
        }
      /* clients first: one that connected before the start sees all output */
      if (pfds[1].revents & POLLIN)
        mon_attach_accept (listen_fd);
      mon_attach_handle (pfds + n, nc, &stdin_fd);
      for (int s = 0; s < 2; s++)
        if (streams[s].fd >= 0 && (pfds[2 + s].revents & (POLLIN | POLLHUP | POLLERR)))
          pump (&streams[s]);
      if (pfds[0].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          while (read (sigfd, &si, sizeof si) > 0)
            ;
          pid_t pid;
          while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
            if (pid == init)
              {
                exited = 1;
                code = exit_code_of (status);
                mon_rfc3339nano (finished, sizeof finished);
                drain_deadline = fdio_now_ms () + DRAIN_MS;
              }
        }
    }
  for (int s = 0; s < 2; s++)
    if (streams[s].fd >= 0 && streams[s].len > 0)
      emit (&streams[s], streams[s].data, streams[s].len);
  if (stdin_fd >= 0)
    close (stdin_fd);
  write_exit_file (dirfd, code, finished);

  /* A foreground `run --rm` cleans up in its own process (one containr start
     less); it removes this run directory when done. If it went away before
     that (killed), the exit command does the clean-up. */
  mon_attach_wait_cleanup (CLEANUP_WAIT_MS);
  struct stat run_dir;
  if (fstat (dirfd, &run_dir) == 0 && run_dir.st_nlink == 0)
    nexit = 0;
  if (nexit > 0)
    {
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      pid_t pid = spawn (exit_argv, null, null, null);
      if (pid > 0)
        while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
          ;
    }
  /* attached clients see EOF only now, so a foreground `run --rm` ends after the clean-up */
  mon_attach_close_all ();
  return 0;
}
