// Tests that need a real component (Docker, Chromium) skip without it on a developer's machine, but in CI a missing component is a failure, never a silent skip.

/** The skip reason to give node:test, or a thrown error under CI=true when the component is missing. */
export function skipUnlessRequired(reason: string | false | undefined): string | undefined {
  if (!reason) return undefined;
  if (process.env['CI']) throw new Error(`CI requires this component, but: ${reason}`);
  return reason;
}
