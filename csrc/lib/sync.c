/* The parent/child messages (sync.h): the child's side and the FFI entry
   points the TypeScript parent reads and writes them with. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "containr.h"
#include "fdio.h"
#include "sync.h"

int
sync_send (int fd, uint32_t type, int32_t err, uint32_t stage, int64_t value, const char *text)
{
  struct sync_msg msg;
  memset (&msg, 0, sizeof msg);
  msg.type = type;
  msg.err = err;
  msg.stage = stage;
  msg.value = value;
  if (text)
    {
      size_t n = strlen (text);
      if (n > SYNC_TEXT_MAX)
        n = SYNC_TEXT_MAX;
      memcpy (msg.text, text, n);
      msg.len = n;
    }
  ssize_t r;
  do
    r = send (fd, &msg, sizeof msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

int
sync_recv (int fd, struct sync_msg *msg, int timeout_ms)
{
  int r = fdio_wait_readable (fd, timeout_ms);
  if (r < 0)
    return r;
  if (r == 0)
    return -ETIMEDOUT;
  ssize_t n;
  do
    n = recv (fd, msg, sizeof *msg, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == ECONNRESET ? 0 : -errno;
  if (n == 0)
    return 0;
  if ((size_t) n != sizeof *msg || msg->len > SYNC_TEXT_MAX)
    return -EPROTO;
  return 1;
}

/* FFI: receive one message into buf (512 bytes). 1, 0 on EOF, -errno (-ETIMEDOUT). */
CONTAINR_EXPORT int
containr_sync_recv (int fd, void *buf, int timeout_ms)
{
  return sync_recv (fd, (struct sync_msg *) buf, timeout_ms);
}

/* FFI: send a message without text (CGROUP_DONE, MAPS_WRITTEN). */
CONTAINR_EXPORT int
containr_sync_send (int fd, uint32_t type)
{
  return sync_send (fd, type, 0, 0, 0, NULL);
}

int
sync_sendmsg_fd (int sock, const void *data, size_t len, int passed_fd)
{
  struct iovec iov = { .iov_base = (void *) data, .iov_len = len };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  memset (&control, 0, sizeof control);
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
  struct cmsghdr *c = CMSG_FIRSTHDR (&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &passed_fd, sizeof (int));
  ssize_t r;
  do
    r = sendmsg (sock, &mh, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

int
sync_send_fd (int fd, uint32_t type, int passed_fd, const char *text)
{
  struct sync_msg msg;
  memset (&msg, 0, sizeof msg);
  msg.type = type;
  if (text)
    {
      size_t n = strnlen (text, SYNC_TEXT_MAX);
      memcpy (msg.text, text, n);
      msg.len = n;
    }
  return sync_sendmsg_fd (fd, &msg, sizeof msg, passed_fd);
}
