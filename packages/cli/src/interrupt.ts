/** Why a long-running command was asked to stop. */
export type StopReason = 'signal' | 'parent-gone';

/** Options for {@link onInterrupt}. */
export type OnInterruptInit = {
  /** Printed when a second Ctrl-C exits at once (130). */
  onForce: string;
  /** Signals this soon after the first count as the same key press. Default 1,000 ms. */
  graceMs?: number;
  /**
   * Also stop when the process that started this one goes away (SIGKILL, crash): `npm start` that
   * was killed must not leave the network running behind it. Off for a command run from a shell,
   * where a parent that exits may mean "keep running in the background" (`nohup agora up &`).
   */
  stopWithParent?: boolean;
  /** How often the parent is checked, ms (default 250). */
  parentPollMs?: number;
};

/**
 * Ctrl-C handling for long-running commands (`agora up`, `agora node`), installed from the first
 * moment. The first SIGINT/SIGTERM asks for a clean stop; a second one, from a user who does not
 * want to wait, exits at once (130) after printing `onForce`'s message.
 *
 * A terminal's Ctrl-C reaches the whole process group, and npm, which runs `npm start`, relays the
 * signal it got once more, so one key press arrives twice within milliseconds: signals in the
 * first `graceMs` after the first are taken as that same press, not as a second one.
 *
 * @example
 * const stopRequested = onInterrupt({ onForce: 'exiting without draining.' })
 * const reason = await stopRequested // 'signal' or 'parent-gone'
 */
export function onInterrupt(init: OnInterruptInit): Promise<StopReason> {
  const graceMs = init.graceMs ?? 1_000;
  let firstAt: number | undefined;
  return new Promise<StopReason>((resolve) => {
    const onSignal = () => {
      if (firstAt === undefined) {
        firstAt = Date.now();
        return resolve('signal');
      }
      if (Date.now() - firstAt < graceMs) return;
      process.stderr.write(`${init.onForce}\n`);
      process.exit(130);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (init.stopWithParent) {
      // No event says that the parent died, but the kernel hands its orphans to another process
      // (init or a subreaper): a changed parent pid is that death.
      const parent = process.ppid;
      const timer = setInterval(() => {
        if (process.ppid === parent) return;
        clearInterval(timer);
        if (firstAt === undefined) (firstAt = Date.now()), resolve('parent-gone');
      }, init.parentPollMs ?? 250);
      timer.unref();
    }
  });
}
