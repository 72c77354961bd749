/* Descriptor helpers (fdio.h): the poll and write loops every caller
   otherwise spells out again. */
#include <errno.h>
#include <poll.h>
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
        return -1;
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}
