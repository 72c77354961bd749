/* The default /dev of the runtime spec: null, zero, full, random, urandom
   and tty (mknod; a bind mount of the host's node where mknod is refused),
   and the links fd, stdin, stdout, stderr and ptmx. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "runtime.h"

struct default_device
{
  const char *name;
  unsigned major, minor;
};

static const struct default_device devices[] = {
  { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct
{
  const char *name, *target;
} links[] = {
  { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
  { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },
};

static int
bind_host_device (struct child_ctx *ctx, int devfd, const struct default_device *d)
{
  char host[32];
  struct strbuf sb;
  sb_init (&sb, host, sizeof host);
  sb_add (&sb, "/dev/");
  sb_add (&sb, d->name);
  int fd = openat (devfd, d->name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0)
    return child_fail (ctx, STAGE_DEVICES, errno, "create /dev/", d->name, NULL, NULL);
  int ret = child_mount_on_fd (host, fd, NULL, MS_BIND, NULL);
  close (fd);
  if (ret < 0)
    return child_fail (ctx, STAGE_DEVICES, -ret, "bind mount ", host, " on /dev/", d->name);
  return 0;
}

int
child_create_devices (struct child_ctx *ctx)
{
  int devfd = child_make_in_root (ctx, "/dev", 0, O_PATH | O_DIRECTORY, STAGE_DEVICES);
  if (devfd < 0)
    return devfd;
  int ret = 0;

  for (size_t i = 0; i < sizeof devices / sizeof devices[0] && ret == 0; i++)
    {
      const struct default_device *d = &devices[i];
      if (mknodat (devfd, d->name, S_IFCHR | 0666, makedev (d->major, d->minor)) == 0 || errno == EEXIST)
        continue;
      if (errno == EPERM)
        ret = bind_host_device (ctx, devfd, d);
      else
        ret = child_fail (ctx, STAGE_DEVICES, errno, "mknod /dev/", d->name, NULL, NULL);
    }
  for (size_t i = 0; i < sizeof links / sizeof links[0] && ret == 0; i++)
    if (symlinkat (links[i].target, devfd, links[i].name) < 0 && errno != EEXIST)
      ret = child_fail (ctx, STAGE_DEVICES, errno, "symlink /dev/", links[i].name, " to ", links[i].target);
  close (devfd);
  return ret;
}
