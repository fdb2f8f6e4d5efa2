/**
 * What a start-up has opened (stores, servers, timers), to close newest first: when a start fails
 * halfway, or at stop. Each step runs once, however often `undoAll` is called.
 *
 * @example
 * const cleanup = createCleanupStack()
 * const store = openStore(); cleanup.push(() => store.close())
 * try { … } catch (err) { await cleanup.undoAll(); throw err }
 */
export function createCleanupStack() {
  const steps: (() => Promise<void> | void)[] = [];
  return {
    push(step: () => Promise<void> | void) {
      steps.push(step);
    },
    async undoAll() {
      for (const step of steps.splice(0).reverse()) await step();
    },
  };
}

export type CleanupStack = ReturnType<typeof createCleanupStack>;
