#ifndef CONTAINR_MONITOR_SPAWN_H
#define CONTAINR_MONITOR_SPAWN_H
/*
 * How the engine starts a container (ADR 0007, the "spawner"): it runs the
 * runtime's create in its own process, but containr_spawn_monitor
 * (csrc/lib/spawn.c) posix_spawns containr-monitor, not containr-init, and
 * the monitor starts containr-init as its create command, so that the
 * container's init (cloned with CLONE_PARENT) is the monitor's child.
 *
 * The monitor gets init-helper.h's descriptors (SPAWN_PLAN_FD,
 * SPAWN_SYNC_FD, SPAWN_CGROUP_FD) and passes them on to the create command
 * unchanged, plus:
 *
 *   MONITOR_CONTROL_FD  the read end of a pipe whose write end the engine
 *                       keeps: "PID\n" once the init is READY and the
 *                       runtime's state is written; EOF without a pid
 *                       means the create failed and the monitor exits
 *   MONITOR_CONSOLE_FD  with -t: the listening console socket (DIR/console)
 *                       on which the init sends the pty master
 *   stderr              a pipe the engine reads if the start fails (the
 *                       monitor's diagnostics until it has the pid)
 *
 * The create command is `HELPER SPAWN_ARG_MAGIC MONITOR_PID_PLACEHOLDER`:
 * containr-init checks that its parent is the pid it is given, and the
 * engine cannot know the monitor's pid before it runs, so the monitor puts
 * its own in place of the placeholder.
 */
#define MONITOR_CONTROL_FD 6
#define MONITOR_CONSOLE_FD 7
#define MONITOR_PID_PLACEHOLDER "@monitor-pid@"

#endif
