#ifndef CONTAINR_H
#define CONTAINR_H

/* Symbols the TypeScript side calls through bun:ffi; everything else stays hidden. */
#define CONTAINR_EXPORT __attribute__((visibility("default")))

/* Bumped whenever an exported function or a plan/message layout changes. */
#define CONTAINR_ABI_VERSION 2

/* wait.c: reap pid (EINTR retried); its exit status as a shell reports it
   (128+n for signal n), or -errno. Also used by console.c's tty relay. */
int containr_reap (int pid);

#endif
