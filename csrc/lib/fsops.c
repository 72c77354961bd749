/*
 * Confined filesystem operations for layer unpacking, and overlay mounts.
 *
 * Unpacking resolves every parent directory component by component with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), so a
 * symlink anywhere in an entry's parent path (one the layer itself created,
 * pointing at / or at ../..) makes the walk fail with ELOOP instead of
 * leading outside the layer directory. The final component is then operated
 * on with *at() calls on that directory fd, never following it.
 */
#include "containr.h"
#include "fsops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Deep enough for any real tree; stops a hostile layer from exhausting the stack while removing. */
#define MAX_REMOVE_DEPTH 512

static int neg_errno(void) { return errno ? -errno : -EIO; }

static int valid_component(const char *name, size_t len)
{
  if (len == 0 || len > 255) return 0;
  if (len == 1 && name[0] == '.') return 0;
  if (len == 2 && name[0] == '.' && name[1] == '.') return 0;
  return memchr(name, '/', len) == NULL;
}

/* "/proc/self/fd/N/name", or "/proc/self/fd/N" for the directory itself. */
static int proc_path(char *buf, size_t size, int dirfd, const char *name)
{
  int n = name[0] ? snprintf(buf, size, "/proc/self/fd/%d/%s", dirfd, name) : snprintf(buf, size, "/proc/self/fd/%d", dirfd);
  return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Open one directory component below dirfd without following a symlink or leaving dirfd. */
static int open_component(int dirfd, const char *name)
{
  struct open_how how = {
    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof how);
  if (fd >= 0) return (int)fd;
  if (errno != ENOSYS) return neg_errno();
  /* Kernels before 5.6: O_NOFOLLOW on a single component gives the same guarantee. */
  fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) return (int)fd;
  if (errno == ENOTDIR) {
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) return -ELOOP;
    errno = ENOTDIR;
  }
  return neg_errno();
}

CONTAINR_EXPORT int containr_fs_open_root(const char *path)
{
  int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? neg_errno() : fd;
}

/*
 * Open relpath ("a/b/c", components already cleaned; "" is the root itself)
 * below rootfd as an O_PATH directory fd. Missing components are created with
 * create_mode when it is >= 0. On failure *failed_component (if not NULL) is
 * the index of the component that failed: ELOOP there means a symlink,
 * ENOTDIR something that is not a directory.
 */
CONTAINR_EXPORT int containr_fs_open_dir(int rootfd, const char *relpath, int create_mode, int32_t *failed_component)
{
  char component[256];
  int cur = dup(rootfd);
  if (cur < 0) return neg_errno();
  const char *p = relpath;
  for (int index = 0; *p; index++) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    if (failed_component) *failed_component = index;
    if (!valid_component(p, len)) {
      close(cur);
      return len > 255 ? -ENAMETOOLONG : -EXDEV;
    }
    memcpy(component, p, len);
    component[len] = '\0';
    int next = open_component(cur, component);
    if (next == -ENOENT && create_mode >= 0) {
      if (mkdirat(cur, component, (mode_t)create_mode) < 0 && errno != EEXIST) {
        int err = neg_errno();
        close(cur);
        return err;
      }
      next = open_component(cur, component);
    }
    close(cur);
    if (next < 0) return next;
    cur = next;
    p += len;
    while (*p == '/') p++;
  }
  if (failed_component) *failed_component = -1;
  return cur;
}

CONTAINR_EXPORT int containr_fs_close(int fd) { return close(fd) < 0 ? neg_errno() : 0; }

/* The S_IFMT bits of name (not followed), or -errno (-ENOENT when it does not exist). */
CONTAINR_EXPORT int containr_fs_file_type(int dirfd, const char *name)
{
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH)) < 0) return neg_errno();
  return (int)(st.st_mode & S_IFMT);
}

/* A new regular file, open for writing; fails with EEXIST rather than reuse or follow anything. */
CONTAINR_EXPORT int containr_fs_create_file(int dirfd, const char *name)
{
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  return fd < 0 ? neg_errno() : fd;
}

CONTAINR_EXPORT int containr_fs_mkdir(int dirfd, const char *name, int mode)
{
  return mkdirat(dirfd, name, (mode_t)mode) < 0 ? neg_errno() : 0;
}

CONTAINR_EXPORT int containr_fs_mknod(int dirfd, const char *name, int mode, int major, int minor)
{
  return mknodat(dirfd, name, (mode_t)mode, makedev((unsigned)major, (unsigned)minor)) < 0 ? neg_errno() : 0;
}

CONTAINR_EXPORT int containr_fs_symlink(const char *target, int dirfd, const char *name)
{
  return symlinkat(target, dirfd, name) < 0 ? neg_errno() : 0;
}

/* A hard link to oldname itself (flags 0: a symlink is linked, not followed). */
CONTAINR_EXPORT int containr_fs_link(int olddirfd, const char *oldname, int newdirfd, const char *newname)
{
  return linkat(olddirfd, oldname, newdirfd, newname, 0) < 0 ? neg_errno() : 0;
}

static int remove_at(int dirfd, const char *name, int depth)
{
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return 0;
  if (errno != EISDIR) return neg_errno();
  if (depth >= MAX_REMOVE_DEPTH) return -ELOOP;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return neg_errno();
  DIR *dir = fdopendir(fd);
  if (!dir) {
    int err = neg_errno();
    close(fd);
    return err;
  }
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (errno = 0, de = readdir(dir)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    rc = remove_at(fd, de->d_name, depth + 1);
  }
  if (rc == 0 && errno != 0) rc = neg_errno();
  closedir(dir);
  if (rc < 0) return rc;
  return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? neg_errno() : 0;
}

/* Remove name and, if it is a directory, everything below it, never following a symlink. Absent is fine. */
CONTAINR_EXPORT int containr_fs_remove(int dirfd, const char *name) { return remove_at(dirfd, name, 0); }

CONTAINR_EXPORT int containr_fs_chown(int dirfd, const char *name, int uid, int gid)
{
  int flags = AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH);
  return fchownat(dirfd, name, (uid_t)uid, (gid_t)gid, flags) < 0 ? neg_errno() : 0;
}

/* chmod without following: a symlink has no mode of its own and is left alone. */
CONTAINR_EXPORT int containr_fs_chmod(int dirfd, const char *name, int mode)
{
  char path[64];
  int fd = name[0] ? openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC) : dup(dirfd);
  if (fd < 0) return neg_errno();
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) < 0)
    rc = neg_errno();
  else if (!S_ISLNK(st.st_mode)) {
    /* An O_PATH fd cannot be fchmod'ed; its /proc magic link names exactly the inode we opened. */
    rc = proc_path(path, sizeof path, fd, "");
    if (rc == 0 && chmod(path, (mode_t)(mode & 07777)) < 0) rc = neg_errno();
  }
  close(fd);
  return rc;
}

/* Set the modification time (not following a symlink); the access time is left as it is. */
CONTAINR_EXPORT int containr_fs_utimes(int dirfd, const char *name, int64_t mtime_sec, int64_t mtime_nsec)
{
  struct timespec times[2] = {
    { .tv_sec = 0, .tv_nsec = UTIME_OMIT },
    { .tv_sec = (time_t)mtime_sec, .tv_nsec = (long)mtime_nsec },
  };
  if (name[0]) return utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0 ? neg_errno() : 0;
  char path[64];
  int rc = proc_path(path, sizeof path, dirfd, "");
  if (rc < 0) return rc;
  return utimensat(AT_FDCWD, path, times, 0) < 0 ? neg_errno() : 0;
}

/* Set an extended attribute on name itself (a symlink is not followed). */
CONTAINR_EXPORT int containr_fs_setxattr(int dirfd, const char *name, const char *key, const void *value, size_t len)
{
  char path[320];
  int rc = proc_path(path, sizeof path, dirfd, name);
  if (rc < 0) return rc;
  /* The directory's magic link is followed to the directory we resolved; the last component is not. */
  rc = name[0] ? lsetxattr(path, key, value, len, 0) : setxattr(path, key, value, len, 0);
  return rc < 0 ? neg_errno() : 0;
}

CONTAINR_EXPORT ssize_t containr_fs_listxattr(const char *path, char *buf, size_t size)
{
  ssize_t n = llistxattr(path, buf, size);
  return n < 0 ? neg_errno() : n;
}

CONTAINR_EXPORT ssize_t containr_fs_getxattr(const char *path, const char *key, void *buf, size_t size)
{
  ssize_t n = lgetxattr(path, key, buf, size);
  return n < 0 ? neg_errno() : n;
}

/* --- overlay ---------------------------------------------------------------------------------------- */

/* An overlay filesystem context (new mount API); configure it with containr_fs_overlay_set. */
CONTAINR_EXPORT int containr_fs_overlay_open(void)
{
  long fd = syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  return fd < 0 ? neg_errno() : (int)fd;
}

/* One option: a string ("lowerdir+", "upperdir", ...) or, with value NULL, a flag ("userxattr"). */
CONTAINR_EXPORT int containr_fs_overlay_set(int fsfd, const char *key, const char *value)
{
  long rc = value ? syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, key, value, 0)
                  : syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, key, NULL, 0);
  return rc < 0 ? neg_errno() : 0;
}

/* Create the superblock and attach it at target. */
CONTAINR_EXPORT int containr_fs_overlay_mount(int fsfd, const char *target, int flags)
{
  if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) return neg_errno();
  unsigned attrs = (flags & CONTAINR_FS_MOUNT_RDONLY) ? MOUNT_ATTR_RDONLY : 0;
  long mfd = syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, attrs);
  if (mfd < 0) return neg_errno();
  long rc = syscall(SYS_move_mount, (int)mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
  int err = rc < 0 ? neg_errno() : 0;
  close((int)mfd);
  return err;
}

/* One message the kernel logged on the context ("e overlayfs: ..."), or -ENODATA when there is none. */
CONTAINR_EXPORT ssize_t containr_fs_overlay_log(int fsfd, char *buf, size_t size)
{
  ssize_t n = read(fsfd, buf, size);
  return n < 0 ? neg_errno() : n;
}

/* mount(2) with an option string, for kernels without fsopen or lowerdir+. */
CONTAINR_EXPORT int containr_fs_mount_legacy(const char *target, const char *data, int flags)
{
  unsigned long mflags = (flags & CONTAINR_FS_MOUNT_RDONLY) ? MS_RDONLY : 0;
  return mount("overlay", target, "overlay", mflags, data) < 0 ? neg_errno() : 0;
}

/* A read-only bind mount of source on target (an image of a single layer has nothing to overlay). */
CONTAINR_EXPORT int containr_fs_bind_readonly(const char *source, const char *target)
{
  if (mount(source, target, NULL, MS_BIND, NULL) < 0) return neg_errno();
  if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
    int err = neg_errno();
    umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW);
    return err;
  }
  return 0;
}

CONTAINR_EXPORT int containr_fs_umount(const char *target, int detach)
{
  return umount2(target, UMOUNT_NOFOLLOW | (detach ? MNT_DETACH : 0)) < 0 ? neg_errno() : 0;
}
