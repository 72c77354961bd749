/*
 * Filesystem calls of the engine's volumes and `cp`:
 *
 * - resolving a path the way the container sees it: openat2 with
 *   RESOLVE_IN_ROOT, so "..", absolute paths and absolute symlinks all stay
 *   below the container's root (its rootfs on the host, or /proc/PID/root),
 *   and RESOLVE_NO_MAGICLINKS, so a /proc/self/fd/N link planted in the
 *   container cannot lead out of it;
 * - mount(2) for the local volume driver's options (type=tmpfs, type=none
 *   with o=bind, a block device), which the overlay helpers of fsops.c do
 *   not cover.
 *
 * Every function returns a value >= 0 or -errno.
 */
#include "containr.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static int neg_errno(void) { return errno ? -errno : -EIO; }

/*
 * An O_PATH fd on path below rootfd, resolved as if rootfd were "/".
 * nofollow: the last component is not followed when it is a symlink (the fd
 * then refers to the symlink itself, as lstat would).
 */
CONTAINR_EXPORT int containr_efs_open_in_root(int rootfd, const char *path, int nofollow)
{
  struct open_how how = {
    .flags = O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
  return fd < 0 ? neg_errno() : (int)fd;
}

/* mount(2); data may be NULL. flags are MS_* bits. */
CONTAINR_EXPORT int containr_efs_mount(const char *source, const char *target, const char *fstype, int64_t flags, const char *data)
{
  if (mount(source, target, fstype, (unsigned long)flags, data) < 0) return neg_errno();
  return 0;
}
