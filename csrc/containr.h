#ifndef CONTAINR_H
#define CONTAINR_H

/* Symbols the TypeScript side calls through bun:ffi; everything else stays hidden. */
#define CONTAINR_EXPORT __attribute__((visibility("default")))

/* Bumped whenever an exported function or a plan/message layout changes. */
#define CONTAINR_ABI_VERSION 2

#endif
