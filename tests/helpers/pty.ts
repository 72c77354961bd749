/** A container's terminal from the test's side: the pty master a console socket receives, and its output. */
import { readSync } from "node:fs";
import { acceptConnection, receiveWithFd, type ReceivedMessage } from "../../src/native/console.ts";
import { closeFd } from "../../src/native/runtime.ts";

/** The runtime's connection to the --console-socket listener: its message (the pty's name) and the pty master fd. */
export function receivePtyMaster(listener: number): ReceivedMessage {
  const conn = acceptConnection(listener, 20_000);
  try {
    return receiveWithFd(conn, 4096, 20_000, "receive the pty master");
  } finally {
    closeFd(conn);
  }
}

/**
 * Everything the container writes to its pty, read from the master fd
 * until the container's side is closed (EIO, or end of file), as UTF-8.
 */
export function readUntilClosed(masterFd: number): string {
  let output = "";
  const buf = Buffer.alloc(4096);
  for (;;) {
    let n = 0;
    try {
      n = readSync(masterFd, buf);
    } catch {
      break; // EIO: the container's side is closed
    }
    if (n === 0) break;
    output += buf.toString("utf8", 0, n);
  }
  return output;
}
