#ifndef CONTAINR_MONITOR_H
#define CONTAINR_MONITOR_H
/*
 * containr-monitor: the per-container process that outlives the CLI
 * (conmon's role). It is the subreaper parent of the container's init,
 * holds the container's stdout/stderr pipes (and stdin with -i), writes
 * them to a Docker json-file log, serves attach, records the exit status
 * and runs the engine's exit command. Single-threaded, one poll loop.
 *
 * Every failure is reported as "stage: errno text: detail" through mon_fail.
 */
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/types.h>

enum mon_stream
{
  MON_STDIN = 0,
  MON_STDOUT = 1,
  MON_STDERR = 2,
  /* the last frame an attach client gets: exit.json's text */
  MON_EXIT = 4,
};

/* logfile.c: Docker's json-file driver, rotated by size. */
struct mon_log
{
  int fd;             /* -1: no log (--log-driver none) */
  const char *path;
  uint64_t size;      /* bytes in the current file */
  uint64_t max_size;  /* 0: never rotate */
  unsigned max_files; /* files kept, the current one included */
};
int mon_log_open (struct mon_log *log, const char *path, uint64_t max_size, unsigned max_files);
/* One log entry: data is one line with its '\n', or a partial line (no '\n'). */
int mon_log_write (struct mon_log *log, enum mon_stream stream, const char *data, size_t len);
/* Go's time.RFC3339Nano of the realtime clock, in UTC: "2006-01-02T15:04:05.999999999Z". */
void mon_rfc3339nano (char *buf, size_t cap);

/* attach.c: the attach socket. Clients get Docker's stdcopy frames. */
int mon_attach_listen (int dirfd, const char *name);
void mon_attach_accept (int listen_fd);
/* Fan out one chunk of output to every attached client. */
void mon_attach_broadcast (enum mon_stream stream, const char *data, size_t len);
/* poll set helpers: fill pfds with the clients' fds, then handle what poll reported. */
size_t mon_attach_pollfds (struct pollfd *pfds, size_t cap);
void mon_attach_handle (const struct pollfd *pfds, size_t n, int *stdin_fd);
void mon_attach_close_all (void);
/* After the exit frame: wait (at most timeout_ms) until every client that took over the clean-up closed. */
void mon_attach_wait_cleanup (int timeout_ms);
/* The pty master that resize requests ('w' clients) apply to. */
void mon_attach_set_terminal (int master);

/* main.c */
void mon_fail (const char *stage, int err, const char *detail);

#endif
