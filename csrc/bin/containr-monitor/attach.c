/* The attach socket: a unix stream socket in the container's run
   directory. A client first sends one byte saying what it wants:
     'r'  output only
     'i'  output, and what it sends goes to the container's stdin
     'o'  as 'i', and its end of input (a shutdown of its sending side,
          not a close: that is a detach) closes the container's stdin
          (docker run -i: StdinOnce)
     'R', 'I', 'O'  as 'r', 'i', 'o', and the client takes over the exit
          command: after the exit frame the monitor waits until it closes
          the connection, and runs the exit command only if the client did
          not remove the run directory (a foreground `run --rm`)
     'w'  a resize request of a container with a terminal: 4 more bytes,
          rows and columns as big-endian u16; the monitor sets the pty's
          window size (TIOCSWINSZ, which signals SIGWINCH to its
          foreground process group) and closes the connection
   The monitor sends output in Docker's stdcopy frames: an 8-byte header
   { stream (1 stdout, 2 stderr), 0, 0, 0, length as big-endian u32 }
   followed by the bytes, from the moment a client is accepted. Last comes
   one frame of stream 4 holding exit.json's text; the monitor closes every
   client after the exit command ran. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "monitor.h"

#define MAX_CLIENTS 64
/* A client that cannot take output for this long is dropped, so that one
   stalled terminal cannot stop the container (its output is still logged). */
#define CLIENT_SEND_TIMEOUT_SEC 5

struct client
{
  int fd;
  char mode;        /* 0 until the hello byte arrived */
  int cleanup;      /* the client takes over the exit command */
  int input_closed; /* the client shut down its sending side: it still gets output */
  unsigned char size[4]; /* a 'w' client's request as it arrives */
  size_t size_len;
};

static struct client clients[MAX_CLIENTS];
static size_t nclients;
static int terminal_master = -1;

void
mon_attach_set_terminal (int master)
{
  terminal_master = master;
}

int
mon_attach_listen (int dirfd, const char *name)
{
  struct sockaddr_un addr;
  memset (&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  /* the run directory's path may be longer than sun_path: bind through the fd */
  int len = snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
  if (len < 0 || (size_t) len >= sizeof addr.sun_path)
    {
      mon_fail ("create the attach socket", ENAMETOOLONG, name);
      return -1;
    }
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    {
      mon_fail ("create the attach socket", errno, name);
      return -1;
    }
  unlinkat (dirfd, name, 0);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 16) < 0)
    {
      mon_fail ("bind the attach socket", errno, name);
      close (fd);
      return -1;
    }
  fchmodat (dirfd, name, 0600, 0);
  return fd;
}

static void
drop (size_t i)
{
  close (clients[i].fd);
  clients[i] = clients[--nclients];
}

void
mon_attach_accept (int listen_fd)
{
  for (;;)
    {
      int fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0)
        return;
      if (nclients == MAX_CLIENTS)
        {
          close (fd);
          continue;
        }
      struct timeval tv = { .tv_sec = CLIENT_SEND_TIMEOUT_SEC, .tv_usec = 0 };
      setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      clients[nclients].fd = fd;
      clients[nclients].mode = 0;
      clients[nclients].input_closed = 0;
      clients[nclients].size_len = 0;
      clients[nclients].cleanup = 0;
      nclients++;
    }
}

static int
send_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t w = send (fd, buf, len, MSG_NOSIGNAL);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      buf += w;
      len -= (size_t) w;
    }
  return 0;
}

void
mon_attach_broadcast (enum mon_stream stream, const char *data, size_t len)
{
  unsigned char header[8] = { (unsigned char) stream, 0, 0, 0, (unsigned char) (len >> 24), (unsigned char) (len >> 16),
                              (unsigned char) (len >> 8), (unsigned char) len };
  for (size_t i = 0; i < nclients;)
    {
      if ((send_all (clients[i].fd, (const char *) header, sizeof header) < 0 || send_all (clients[i].fd, data, len) < 0))
        {
          drop (i);
          continue;
        }
      i++;
    }
}

size_t
mon_attach_pollfds (struct pollfd *pfds, size_t cap)
{
  size_t n = 0;
  for (size_t i = 0; i < nclients && n < cap; i++)
    if (!clients[i].input_closed)
      {
        pfds[n].fd = clients[i].fd;
        pfds[n].events = POLLIN;
        pfds[n].revents = 0;
        n++;
      }
  return n;
}

static void
write_stdin (int *stdin_fd, const char *buf, size_t len)
{
  while (*stdin_fd >= 0 && len > 0)
    {
      ssize_t w = write (*stdin_fd, buf, len);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          /* the container closed its stdin: what the client sends is dropped */
          close (*stdin_fd);
          *stdin_fd = -1;
          return;
        }
      buf += w;
      len -= (size_t) w;
    }
}

void
mon_attach_handle (const struct pollfd *pfds, size_t n, int *stdin_fd)
{
  char buf[32768];
  /* pfds[k] belongs to the client whose fd it names; drop() reorders the array */
  for (size_t k = 0; k < n; k++)
    {
      if (!(pfds[k].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      size_t i;
      for (i = 0; i < nclients && clients[i].fd != pfds[k].fd; i++)
        ;
      if (i == nclients)
        continue;
      ssize_t r = recv (clients[i].fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (r < 0)
        {
          drop (i);
          continue;
        }
      if (r == 0 && (pfds[k].revents & POLLHUP))
        {
          /* closed, not shut down for writing: a detach (or a client that died), not the end of its input */
          drop (i);
          continue;
        }
      if (r == 0)
        {
          if (clients[i].mode == 'o' && *stdin_fd >= 0)
            {
              close (*stdin_fd);
              *stdin_fd = -1;
            }
          clients[i].input_closed = 1;
          continue;
        }
      size_t off = 0;
      if (clients[i].mode == 0)
        {
          char mode = buf[0];
          if (mode == 'R' || mode == 'I' || mode == 'O')
            {
              clients[i].cleanup = 1;
              mode = (char) (mode - 'A' + 'a');
            }
          clients[i].mode = (mode == 'i' || mode == 'o' || mode == 'w') ? mode : 'r';
          off = 1;
        }
      if (clients[i].mode == 'w')
        {
          struct client *c = &clients[i];
          while (off < (size_t) r && c->size_len < sizeof c->size)
            c->size[c->size_len++] = (unsigned char) buf[off++];
          if (c->size_len == sizeof c->size)
            {
              struct winsize ws = { .ws_row = (unsigned short) (c->size[0] << 8 | c->size[1]),
                                    .ws_col = (unsigned short) (c->size[2] << 8 | c->size[3]) };
              if (terminal_master >= 0 && ioctl (terminal_master, TIOCSWINSZ, &ws) < 0)
                mon_fail ("resize the terminal", errno, NULL);
              drop (i);
            }
          continue;
        }
      if (clients[i].mode != 'r' && (size_t) r > off)
        write_stdin (stdin_fd, buf + off, (size_t) r - off);
    }
}

void
mon_attach_wait_cleanup (int timeout_ms)
{
  struct timespec start;
  clock_gettime (CLOCK_MONOTONIC, &start);
  for (;;)
    {
      struct pollfd pfds[MAX_CLIENTS];
      size_t n = 0;
      /* a client whose sending side is shut is polled for its close (POLLHUP) only */
      for (size_t i = 0; i < nclients; i++)
        if (clients[i].cleanup)
          pfds[n++] = (struct pollfd){ .fd = clients[i].fd, .events = clients[i].input_closed ? 0 : POLLIN };
      if (n == 0)
        return;
      struct timespec now;
      clock_gettime (CLOCK_MONOTONIC, &now);
      long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (elapsed >= timeout_ms || poll (pfds, n, (int) (timeout_ms - elapsed)) == 0)
        return;
      for (size_t k = 0; k < n; k++)
        {
          if (pfds[k].revents == 0)
            continue;
          size_t i;
          for (i = 0; i < nclients && clients[i].fd != pfds[k].fd; i++)
            ;
          if (i == nclients)
            continue;
          if (pfds[k].revents & (POLLHUP | POLLERR))
            {
              drop (i);
              continue;
            }
          /* what it still sends is dropped; the end of its input is not yet its close */
          char buf[4096];
          ssize_t r = recv (clients[i].fd, buf, sizeof buf, MSG_DONTWAIT);
          if (r == 0)
            clients[i].input_closed = 1;
          else if (r < 0 && errno != EAGAIN && errno != EINTR)
            drop (i);
        }
    }
}

void
mon_attach_close_all (void)
{
  while (nclients > 0)
    drop (nclients - 1);
}
