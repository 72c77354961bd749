/* process.terminal: a pty from the container's own devpts (after the pivot,
   /dev/ptmx is the container's pts/ptmx), its master sent over the
   --console-socket (runc's protocol: SCM_RIGHTS with the pty's name as
   data) or, without one, to the parent over the sync socket; the peer
   becomes the controlling terminal and stdio. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include "runtime.h"

/* Connected by containr-init before it joins namespaces; the init, its
   clone, inherits both the descriptor and this variable. */
static int console_sock = -1;

/* Before any namespace is joined: the socket's path is the caller's. */
int
child_connect_console (struct child_ctx *ctx)
{
  const char *path = ctx->plan->console_socket;
  if (path == NULL)
    return 0;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    return child_fail (ctx, STAGE_TERMINAL, ENAMETOOLONG, "console socket path ", path, " is too long", NULL);
  memcpy (addr.sun_path, path, strlen (path) + 1);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return child_fail (ctx, STAGE_TERMINAL, errno, "create a socket for the console socket", NULL, NULL, NULL);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      int saved = errno;
      close (fd);
      return child_fail (ctx, STAGE_TERMINAL, saved, "connect to the console socket ", path, NULL, NULL);
    }
  console_sock = fd;
  return 0;
}

static int
send_master (struct child_ctx *ctx, int master, const char *name)
{
  if (console_sock < 0)
    {
      int ret = sync_send_fd (ctx->sock, SYNC_CHILD_TERMINAL, master, name);
      return ret < 0 ? child_fail (ctx, STAGE_TERMINAL, -ret, "send the pty master to the parent", NULL, NULL, NULL) : 0;
    }
  int ret = sync_sendmsg_fd (console_sock, name, strlen (name), master);
  close (console_sock);
  console_sock = -1;
  if (ret < 0)
    return child_fail (ctx, STAGE_TERMINAL, -ret, "send the pty master over the console socket ", ctx->plan->console_socket, NULL, NULL);
  return 0;
}

/* mount_console: bind the pty over /dev/console (a new container, not exec). */
int
child_setup_terminal (struct child_ctx *ctx, int mount_console)
{
  const struct plan *plan = ctx->plan;
  if (plan->terminal == NULL)
    return 0;
  struct plan_terminal term;
  memcpy (&term, plan->terminal, sizeof term);

  int master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return child_fail (ctx, STAGE_TERMINAL, errno, "open /dev/ptmx in the container (is devpts mounted on /dev/pts with ptmxmode?)", NULL, NULL, NULL);
  int unlock = 0, index = -1;
  if (ioctl (master, TIOCSPTLCK, &unlock) < 0 || ioctl (master, TIOCGPTN, &index) < 0)
    {
      int saved = errno;
      close (master);
      return child_fail (ctx, STAGE_TERMINAL, saved, "unlock the pty", NULL, NULL, NULL);
    }
  /* the peer through the master, so no path lookup can be raced */
  int peer = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (peer < 0)
    {
      int saved = errno;
      close (master);
      return child_fail (ctx, STAGE_TERMINAL, saved, "open the pty's peer", NULL, NULL, NULL);
    }
  char name[64];
  struct strbuf sb;
  sb_init (&sb, name, sizeof name);
  sb_add (&sb, "/dev/pts/");
  sb_num (&sb, index);

  int ret = 0;
  if (term.rows || term.cols)
    {
      struct winsize ws = { .ws_row = term.rows, .ws_col = term.cols };
      if (ioctl (peer, TIOCSWINSZ, &ws) < 0)
        ret = child_fail (ctx, STAGE_TERMINAL, errno, "set the terminal size (process.consoleSize)", NULL, NULL, NULL);
    }
  else if (console_sock < 0)
    {
      /* the CLI relays its own terminal, which is still our stdin: start
         with its size, so the process never sees 0x0 before the relay's
         first SIGWINCH copy */
      struct winsize ws;
      if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
        ioctl (peer, TIOCSWINSZ, &ws);
    }
  /* the process's user owns its terminal, as after a login */
  if (ret == 0 && fchown (peer, plan->config.uid, plan->config.gid) < 0)
    ret = child_fail (ctx, STAGE_TERMINAL, errno, "chown ", name, " to the process's user", NULL);
  if (ret == 0 && mount_console)
    {
      int fd = open ("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0 && errno != EEXIST)
        ret = child_fail (ctx, STAGE_TERMINAL, errno, "create /dev/console", NULL, NULL, NULL);
      if (fd >= 0)
        close (fd);
      if (ret == 0 && mount (name, "/dev/console", NULL, MS_BIND, NULL) < 0)
        ret = child_fail (ctx, STAGE_TERMINAL, errno, "bind mount ", name, " on /dev/console", NULL);
    }
  if (ret == 0)
    ret = send_master (ctx, master, name);
  close (master);
  if (ret == 0 && ioctl (peer, TIOCSCTTY, 0) < 0)
    ret = child_fail (ctx, STAGE_TERMINAL, errno, "make the pty the controlling terminal", NULL, NULL, NULL);
  for (int fd = 0; fd < 3 && ret == 0; fd++)
    if (dup2 (peer, fd) < 0)
      ret = child_fail (ctx, STAGE_TERMINAL, errno, "use the pty as stdio", NULL, NULL, NULL);
  close (peer);
  return ret;
}
