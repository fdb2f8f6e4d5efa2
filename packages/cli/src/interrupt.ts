/**
 * Ctrl-C handling for long-running commands (`agora up`, `agora node`), installed from the first
 * moment. The first SIGINT/SIGTERM asks for a clean stop; a second one, from a user who does not
 * want to wait, exits at once (130) after printing `onForce`'s message.
 *
 * A terminal's Ctrl-C reaches the whole process group, and wrappers in it (npm, tsx) relay the
 * signal once more, so one key press can arrive twice within milliseconds: signals in the first
 * `graceMs` after the first are taken as that same press, not as a second one.
 *
 * @example
 * const stopRequested = onInterrupt({ onForce: 'exiting without draining.' })
 * await stopRequested
 */
export function onInterrupt(init: { onForce: string; graceMs?: number }): Promise<void> {
  const graceMs = init.graceMs ?? 1_000;
  let firstAt: number | undefined;
  return new Promise<void>((resolve) => {
    const onSignal = () => {
      if (firstAt === undefined) {
        firstAt = Date.now();
        return resolve();
      }
      if (Date.now() - firstAt < graceMs) return;
      process.stderr.write(`${init.onForce}\n`);
      process.exit(130);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
