/*
 * Bind mounts attached to a file descriptor rather than a path, for `cp`
 * into and out of a stopped container: the engine resolves each mount point
 * inside the container's root (openat2 RESOLVE_IN_ROOT) to an O_PATH fd,
 * and the bind is moved onto that fd (move_mount MOVE_MOUNT_T_EMPTY_PATH),
 * never onto a path the kernel would resolve again, so a symlink planted in
 * the image cannot move it onto the host.
 *
 * The source tree is cloned detached (open_tree OPEN_TREE_CLONE, with its
 * submounts, as an rbind), made private and, for a read-only mount,
 * read-only while still detached: it is never writable, nor a peer of the
 * source's mounts, for a moment. The returned fd keeps referring to the
 * mount once attached, which is how detach finds exactly that mount again.
 *
 * Every function returns a value >= 0 or -errno; attach says which step
 * failed in *stage (CONTAINR_BINDFD_STAGE_*).
 */
#include "containr.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

enum {
  CONTAINR_BINDFD_STAGE_OPEN_TREE = 1,
  CONTAINR_BINDFD_STAGE_SETATTR = 2,
  CONTAINR_BINDFD_STAGE_MOVE = 3,
};

static int neg_errno(void) { return errno ? -errno : -EIO; }

/* Close fd keeping the errno of the failure being reported. */
static int fail_closing(int fd, int *stage, int at)
{
  int err = neg_errno();
  close(fd);
  *stage = at;
  return err;
}

/*
 * Clone the tree at source (followed, as mount(8) --rbind does), make it
 * private (and read-only when readonly), attach it on targetfd. Returns the
 * fd of the attached mount, for containr_bindfd_detach.
 */
CONTAINR_EXPORT int containr_bindfd_attach(const char *source, int targetfd, int readonly, int *stage)
{
  long fd = syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (fd < 0) {
    *stage = CONTAINR_BINDFD_STAGE_OPEN_TREE;
    return neg_errno();
  }
  struct mount_attr attr = {
    .attr_set = readonly ? MOUNT_ATTR_RDONLY : 0,
    .propagation = MS_PRIVATE,
  };
  if (syscall(SYS_mount_setattr, (int)fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    return fail_closing((int)fd, stage, CONTAINR_BINDFD_STAGE_SETATTR);
  if (syscall(SYS_move_mount, (int)fd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return fail_closing((int)fd, stage, CONTAINR_BINDFD_STAGE_MOVE);
  return (int)fd;
}

/*
 * Detach the mount that containr_bindfd_attach returned (with its
 * submounts: MNT_DETACH), through the fd's own /proc/self/fd link, and
 * close the fd.
 */
CONTAINR_EXPORT int containr_bindfd_detach(int mountfd)
{
  char path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", mountfd);
  int rc = umount2(path, MNT_DETACH) < 0 ? neg_errno() : 0;
  close(mountfd);
  return rc;
}
