import { describe, expect, test } from "bun:test";
import { canonicalSignal, parseSignal, signalName } from "../../src/linux/signals.ts";
import { errorOf } from "../helpers/errors.ts";

describe("signals", () => {
  test("names with and without SIG, any case, and numbers", () => {
    expect(parseSignal("SIGTERM")).toBe(15);
    expect(parseSignal("TERM")).toBe(15);
    expect(parseSignal("kill")).toBe(9);
    expect(parseSignal("sigusr1")).toBe(10);
    expect(parseSignal("9")).toBe(9);
    expect(parseSignal("SIGWINCH")).toBe(28);
  });

  test("real-time signals as Docker numbers them", () => {
    expect(parseSignal("RTMIN")).toBe(34);
    expect(parseSignal("SIGRTMIN+3")).toBe(37);
    expect(parseSignal("RTMAX-1")).toBe(63);
    expect(parseSignal("RTMAX")).toBe(64);
    expect(signalName(37)).toBe("SIGRTMIN+3");
    expect(signalName(63)).toBe("SIGRTMAX-1");
  });

  test("canonical names prefer the main name over aliases", () => {
    expect(canonicalSignal("iot")).toBe("SIGABRT");
    expect(canonicalSignal("15")).toBe("SIGTERM");
    expect(canonicalSignal("cld")).toBe("SIGCHLD");
    expect(signalName(29)).toBe("SIGIO");
  });

  test("unknown names, 0 and out-of-range numbers are usage errors worded as Docker's", () => {
    for (const bad of ["SIGFOO", "0", "65", "", "-9", "TERM2"]) {
      const err = errorOf(() => parseSignal(bad));
      expect(err.code).toBe("USAGE");
      expect(err.exit).toBe(125);
      expect(err.message).toBe(`invalid signal: ${bad}`);
    }
  });
});
