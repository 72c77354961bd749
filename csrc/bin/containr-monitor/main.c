/*
 * containr-monitor [options] -- CREATE-COMMAND...
 *
 *   -c ID        the container's id (for messages)
 *   -d DIR       the container's run directory: attach socket, exit file
 *   -l FILE      the json-file log; -s BYTES and -n FILES rotate it (0: never)
 *   -i           keep the container's stdin open (a pipe fed by attach clients)
 *   -t           a terminal: relay the pty master the runtime sends on the
 *                console socket (MONITOR_CONSOLE_FD, listening on
 *                DIR/console) as the container's stdout (and stdin with -i)
 *   -x ARG       one word of the exit command (repeated), run after the exit
 *                unless an attach client that took it over (attach.c) removed
 *                DIR before it closed its connection
 *
 * The engine starts it (csrc/monitor-spawn.h, ADR 0007) and runs the
 * runtime's create in its own process; CREATE-COMMAND is containr-init,
 * which gets the plan, the sync socket and the cgroup fd (fds 3 to 5) as
 * the monitor got them, with the monitor's pid in place of "@monitor-pid@".
 * As conmon: the monitor makes itself a child subreaper and starts the
 * create command with the container's stdio pipes as its stdio; the
 * container's init, cloned with CLONE_PARENT, is the monitor's child. The
 * engine writes the init's pid on MONITOR_CONTROL_FD once the init is READY
 * (EOF instead: the create failed, and the monitor exits). Until then the
 * monitor's diagnostics go to its stderr, the engine's pipe; afterwards
 * nowhere. It logs and relays output until the init exited and the pipes
 * are drained, writes DIR/exit.json atomically
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
#include "init-helper.h"
#include "monitor-spawn.h"
#include "monitor.h"

#define MAX_EXIT_ARGS 64
/* Docker's json-file splits lines longer than 16 KiB into partial entries. */
#define LINE_MAX_BYTES (16 * 1024)
/* After the init exited, output still in flight (or held by an orphan that
   escaped the pid namespace) is read for at most this long. */
#define DRAIN_MS 2000
/* How long a client that took over the clean-up may take before the exit command runs anyway. */
#define CLEANUP_WAIT_MS 30000
/* init-helper.h's descriptors, which the monitor passes on to the create command */
#define KEPT_FDS (SPAWN_CGROUP_FD - SPAWN_PLAN_FD + 1)

static const char *container_id = "?";

void
mon_fail (const char *stage, int err, const char *detail)
{
  /* stderr is the engine's pipe until the monitor has the init's pid, /dev/null afterwards */
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

/* fork and exec argv with in, out and err as its stdio and kept[i] (or
   nothing, for -1) at SPAWN_PLAN_FD + i; every other descriptor is closed. */
static pid_t
spawn (char *const argv[], int in, int out, int err, const int kept[KEPT_FDS])
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
  /* the kept copies sit above KEPT_FDS' targets (keep_create_fds) */
  for (int i = 0; i < KEPT_FDS; i++)
    if (kept[i] >= 0 ? dup2 (kept[i], SPAWN_PLAN_FD + i) < 0 : close (SPAWN_PLAN_FD + i) < 0 && errno != EBADF)
      _exit (126);
  syscall (SYS_close_range, SPAWN_PLAN_FD + KEPT_FDS, ~0U, 0);
  execv (argv[0], argv);
  _exit (errno == ENOENT ? 127 : 126);
}

/* Move the create command's descriptors (those the engine passed) out of
   the way of the monitor's own, close-on-exec; -1 for one not passed. */
static int
keep_create_fds (int kept[KEPT_FDS])
{
  for (int i = 0; i < KEPT_FDS; i++)
    {
      int fd = SPAWN_PLAN_FD + i;
      kept[i] = -1;
      if (fcntl (fd, F_GETFD) < 0)
        continue;
      kept[i] = fcntl (fd, F_DUPFD_CLOEXEC, MONITOR_CONSOLE_FD + 1);
      if (kept[i] < 0)
        return -1;
      close (fd);
    }
  return 0;
}

/* The init's pid, which the engine writes on fd once the runtime's state is
   written ("PID\n"); -1 at EOF without one (the create failed). */
static pid_t
read_init_pid (int fd)
{
  char buf[32];
  size_t len = 0;
  for (;;)
    {
      ssize_t r = read (fd, buf + len, sizeof buf - 1 - len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return -1;
      len += (size_t) r;
      buf[len] = '\0';
      if (memchr (buf, '\n', len) != NULL)
        break;
      if (len == sizeof buf - 1)
        return -1;
    }
  char *end;
  long pid = strtol (buf, &end, 10);
  return pid > 0 && *end == '\n' ? (pid_t) pid : -1;
}

/* EOF without a pid: the create failed (the engine has killed the init), or
   the engine died, perhaps after READY, when the init no longer dies with
   its parent (PR_SET_PDEATHSIG). End every child: none is reaped yet, so no
   pid here can have been reused. Without /proc/PID/task/TID/children
   (CONFIG_PROC_CHILDREN) the engine's next start or rm kills the cgroup. */
static void
kill_children (void)
{
  char path[64], buf[4096];
  snprintf (path, sizeof path, "/proc/self/task/%d/children", (int) getpid ());
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  char *end;
  for (char *p = buf;; p = end)
    {
      long pid = strtol (p, &end, 10);
      if (end == p)
        break;
      if (pid > 0)
        kill ((pid_t) pid, SIGKILL);
    }
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
  dprintf (2, "usage: containr-monitor -c ID -d DIR [-l LOG -s BYTES -n FILES] [-i] [-t] [-x ARG]... -- CREATE-COMMAND...\n");
  exit (2);
}

int
main (int argc, char **argv)
{
  const char *dir = NULL, *logpath = NULL;
  unsigned long long max_size = 0;
  unsigned max_files = 1;
  int keep_stdin = 0, terminal = 0;
  char *exit_argv[MAX_EXIT_ARGS + 1];
  int nexit = 0, opt;

  while ((opt = getopt (argc, argv, "+c:d:l:s:n:itx:")) != -1)
    switch (opt)
      {
      case 'c': container_id = optarg; break;
      case 'd': dir = optarg; break;
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
  if (dir == NULL || optind >= argc)
    usage ();
  char **create_argv = argv + optind;

  /* nothing of the engine's but what monitor-spawn.h gives (Bun's own descriptors are close-on-exec, but that is its choice) */
  syscall (SYS_close_range, MONITOR_CONSOLE_FD + 1, ~0U, 0);
  /* before the monitor opens anything of its own, which could land on them */
  int kept[KEPT_FDS];
  if (keep_create_fds (kept) < 0 || fcntl (MONITOR_CONTROL_FD, F_SETFD, FD_CLOEXEC) < 0
      || (terminal && fcntl (MONITOR_CONSOLE_FD, F_SETFD, FD_CLOEXEC) < 0))
    {
      mon_fail ("take the create command's descriptors", errno, NULL);
      return 1;
    }
  char self[16];
  snprintf (self, sizeof self, "%d", (int) getpid ());
  for (char **arg = create_argv; *arg != NULL; arg++)
    if (strcmp (*arg, MONITOR_PID_PLACEHOLDER) == 0)
      *arg = self;

  /* orphans below us become our children (the init is one from the start: CLONE_PARENT) */
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
  /* with a terminal the init's stdio is the pty; containr-init itself says nothing on its stdio */
  int piped = !terminal;
  if (sigfd < 0 || listen_fd < 0
      || (piped ? pipe2 (out, O_CLOEXEC) : (out[0] = -1, out[1] = open ("/dev/null", O_WRONLY | O_CLOEXEC))) < 0
      || (piped ? pipe2 (err, O_CLOEXEC) : (err[0] = -1, err[1] = open ("/dev/null", O_WRONLY | O_CLOEXEC))) < 0
      || (keep_stdin && piped ? pipe2 (in, O_CLOEXEC) : (in[0] = open ("/dev/null", O_RDONLY | O_CLOEXEC))) < 0)
    {
      mon_fail ("set up the container's stdio", errno, NULL);
      unlinkat (dirfd, "attach", 0);
      return 1;
    }

  pid_t creator = spawn (create_argv, in[0], out[1], err[1], kept);
  if (creator < 0)
    {
      mon_fail ("start the create command", errno, create_argv[0]);
      unlinkat (dirfd, "attach", 0);
      return 1;
    }
  /* the engine sees EOF on the sync socket once the helper and the init are gone, not while we hold it */
  for (int i = 0; i < KEPT_FDS; i++)
    if (kept[i] >= 0)
      close (kept[i]);
  close (in[0]);
  close (out[1]);
  close (err[1]);
  int stdin_fd = in[1];
  struct stream_buf streams[2];
  streams[0].fd = out[0], streams[0].stream = MON_STDOUT, streams[0].len = 0;
  streams[1].fd = err[0], streams[1].stream = MON_STDERR, streams[1].len = 0;

  /* the helper exits after cloning the init; it is reaped with the other children in the loop */
  pid_t init = read_init_pid (MONITOR_CONTROL_FD);
  close (MONITOR_CONTROL_FD);
  if (init > 0 && terminal)
    {
      /* the init sent the master before READY: it waits in the socket's queue */
      int master = receive_master (MONITOR_CONSOLE_FD);
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
  if (terminal)
    {
      close (MONITOR_CONSOLE_FD);
      unlinkat (dirfd, "console", 0);
    }
  if (init <= 0)
    {
      /* the engine reports why the create failed and removes what it made */
      kill_children ();
      unlinkat (dirfd, "attach", 0);
      return 1;
    }
  for (int s = 0; s < 2; s++)
    if (streams[s].fd >= 0)
      fcntl (streams[s].fd, F_SETFL, O_NONBLOCK);
  int devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  dup2 (devnull, 2);
  close (devnull);

  int exited = 0, code = -1, status;
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
      const int nothing_kept[KEPT_FDS] = { [0 ... KEPT_FDS - 1] = -1 };
      pid_t pid = spawn (exit_argv, null, null, null, nothing_kept);
      if (pid > 0)
        while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
          ;
    }
  /* attached clients see EOF only now, so a foreground `run --rm` ends after the clean-up */
  mon_attach_close_all ();
  return 0;
}
