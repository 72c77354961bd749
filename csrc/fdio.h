#ifndef CONTAINR_FDIO_H
#define CONTAINR_FDIO_H
/* Small descriptor helpers shared by libcontainr.so, containr-init and
   containr-monitor (csrc/lib/fdio.c is compiled into each). */
#include <stddef.h>
#include <sys/types.h>

/* Wait until fd is readable, at most timeout_ms (-1: forever), retrying on
   EINTR: 1 readable (or hung up), 0 on timeout, -errno. */
int fdio_wait_readable (int fd, int timeout_ms);
/* Write all len bytes, retrying on EINTR: 0, or -errno (-EIO for a write
   that writes nothing). */
int fdio_write_all (int fd, const char *buf, size_t len);
/* Receive one message of at most cap bytes, retrying on EINTR, with the fd
   it carries (SCM_RIGHTS, close-on-exec) in *fd, -1 when none; flags are
   recvmsg's (MSG_DONTWAIT). The message's length, 0 on EOF, -errno. */
ssize_t fdio_recv_fd (int sock, void *buf, size_t cap, int flags, int *fd);
/* The monotonic clock in milliseconds, for poll deadlines. */
long long fdio_now_ms (void);

#endif
