#ifndef CONTAINR_FSOPS_H
#define CONTAINR_FSOPS_H

/*
 * Filesystem operations for unpacking image layers and mounting their
 * overlay, called from src/native/fs.ts. Every function is thread-safe and
 * leaves process-wide state (cwd, root, umask, namespaces) alone, because it
 * runs inside the multithreaded Bun process.
 *
 * Convention: a return value >= 0 is success (an fd where one is returned),
 * a negative value is -errno. Names passed with a directory fd are single
 * path components (no '/'); "" means the directory itself.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Flags of containr_fs_overlay_mount. */
#define CONTAINR_FS_MOUNT_RDONLY 1

int containr_fs_open_root(const char *path);
int containr_fs_open_dir(int rootfd, const char *relpath, int create_mode, int32_t *failed_component);
int containr_fs_close(int fd);
int containr_fs_file_type(int dirfd, const char *name);
int containr_fs_create_file(int dirfd, const char *name);
int containr_fs_mkdir(int dirfd, const char *name, int mode);
int containr_fs_mknod(int dirfd, const char *name, int mode, int major, int minor);
int containr_fs_symlink(const char *target, int dirfd, const char *name);
int containr_fs_link(int olddirfd, const char *oldname, int newdirfd, const char *newname);
int containr_fs_remove(int dirfd, const char *name);
int containr_fs_chown(int dirfd, const char *name, int uid, int gid);
int containr_fs_chmod(int dirfd, const char *name, int mode);
int containr_fs_utimes(int dirfd, const char *name, int64_t mtime_sec, int64_t mtime_nsec);
int containr_fs_setxattr(int dirfd, const char *name, const char *key, const void *value, size_t len);
ssize_t containr_fs_listxattr(const char *path, char *buf, size_t size);
ssize_t containr_fs_getxattr(const char *path, const char *key, void *buf, size_t size);

int containr_fs_overlay_open(void);
int containr_fs_overlay_set(int fsfd, const char *key, const char *value);
int containr_fs_overlay_mount(int fsfd, const char *target, int flags);
ssize_t containr_fs_overlay_log(int fsfd, char *buf, size_t size);
int containr_fs_mount_legacy(const char *target, const char *data, int flags);
int containr_fs_bind_readonly(const char *source, const char *target);
int containr_fs_umount(const char *target, int detach);

#endif
