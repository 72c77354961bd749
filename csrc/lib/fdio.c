/* Descriptor helpers (fdio.h): the poll and write loops every caller
   otherwise spells out again. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "fdio.h"

int
fdio_wait_readable (int fd, int timeout_ms)
{
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  int r;
  do
    r = poll (&pfd, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

int
fdio_write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n < 0 ? -errno : -EIO;
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}

ssize_t
fdio_recv_fd (int sock, void *buf, size_t cap, int flags, int *fd)
{
  *fd = -1;
  struct iovec iov = { .iov_base = buf, .iov_len = cap };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
  ssize_t n;
  do
    n = recvmsg (sock, &mh, MSG_CMSG_CLOEXEC | flags);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -errno;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&mh); c; c = CMSG_NXTHDR (&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN (sizeof (int)))
      memcpy (fd, CMSG_DATA (c), sizeof (int));
  return n;
}

long long
fdio_now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
