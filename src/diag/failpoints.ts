import { ContainrError } from "./errors.ts";

/**
 * Failure injection for the clean-up tests (issue 7): each step of a command
 * that creates something calls failpoint("<family>.<step>"); when the
 * comma-separated list in CONTAINR_FAILPOINTS names that step, the step throws
 * as a real failure would, and the test checks that nothing the command made
 * is left behind. Without the variable this is one property read.
 */
const armed = new Set((process.env.CONTAINR_FAILPOINTS ?? "").split(",").filter(Boolean));

export function failpoint(step: string): void {
  if (armed.size > 0 && armed.has(step)) {
    throw new ContainrError("INTERNAL", `injected failure at ${step}`, { hint: "unset CONTAINR_FAILPOINTS" });
  }
}

/** Whether a step is armed, for steps that fail somewhere else (the C child gets the flag in its plan). */
export function failpointArmed(step: string): boolean {
  return armed.has(step);
}
