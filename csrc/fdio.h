#ifndef CONTAINR_FDIO_H
#define CONTAINR_FDIO_H
/* Small descriptor helpers shared by libcontainr.so and containr-init
   (csrc/lib/fdio.c is compiled into both). */
#include <stddef.h>

/* Wait until fd is readable, at most timeout_ms (-1: forever), retrying on
   EINTR: 1 readable (or hung up), 0 on timeout, -errno. */
int fdio_wait_readable (int fd, int timeout_ms);
/* Write all len bytes, retrying on EINTR: 0, or -1 with errno set (a write
   that writes nothing counts as a failure). */
int fdio_write_all (int fd, const char *buf, size_t len);

#endif
