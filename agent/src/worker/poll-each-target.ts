/**
 * Reads each target on its own timer: `readTarget` returns the seconds until that target's next reading.
 * A target read while its previous reading still runs shares that reading instead of starting another.
 */
export function pollEachTarget(
  names: string[],
  readTarget: (name: string) => Promise<number>
): { pollNow(): Promise<void>; stop(): Promise<void> } {
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Map<string, Promise<number>>();
  let stopped = false;

  const tick = (name: string): Promise<number> => {
    const already = running.get(name);
    if (already) return already;
    const run = readTarget(name).finally(() => running.delete(name));
    running.set(name, run);
    return run;
  };
  const loop = (name: string) => {
    void tick(name).then((seconds) => {
      if (!stopped)
        timers.set(
          name,
          setTimeout(() => loop(name), seconds * 1000)
        );
    });
  };

  for (const name of names) loop(name);
  return {
    async pollNow() {
      await Promise.all(names.map(tick));
    },
    async stop() {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      await Promise.allSettled(running.values());
    }
  };
}
