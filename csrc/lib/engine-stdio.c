/* The engine's exec runs the runtime's containr-init from this process, and
   the exec'd process inherits this process's stdio. `exec` without -i must
   give it no input (Docker's process reads EOF), so fd 0 is pointed at
   /dev/null around the launch and restored afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "containr.h"

/* FFI: fd 0 becomes /dev/null; returns a close-on-exec copy of the old fd 0 (for restore), or -errno. */
CONTAINR_EXPORT int
containr_engine_stdin_to_null (void)
{
  int saved = fcntl (0, F_DUPFD_CLOEXEC, 3);
  if (saved < 0)
    return -errno;
  int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0 || dup2 (null, 0) < 0)
    {
      int err = errno;
      if (null >= 0)
        close (null);
      close (saved);
      return -err;
    }
  close (null);
  return saved;
}

/* FFI: put back the fd 0 that containr_engine_stdin_to_null saved; 0 or -errno. */
CONTAINR_EXPORT int
containr_engine_stdin_restore (int saved)
{
  int ret = dup2 (saved, 0) < 0 ? -errno : 0;
  close (saved);
  return ret;
}
