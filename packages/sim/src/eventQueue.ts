/**
 * A binary min-heap of events by time; ties leave in the order they were pushed, so a run is a
 * pure function of its seed.
 */
export function createEventQueue<E>() {
  const times: number[] = [];
  const orders: number[] = [];
  const events: E[] = [];
  let pushed = 0;
  const less = (i: number, j: number) => times[i]! < times[j]! || (times[i] === times[j] && orders[i]! < orders[j]!);
  const swap = (i: number, j: number) => {
    const t = times[i]!;
    times[i] = times[j]!;
    times[j] = t;
    const o = orders[i]!;
    orders[i] = orders[j]!;
    orders[j] = o;
    const e = events[i]!;
    events[i] = events[j]!;
    events[j] = e;
  };
  return {
    get size() {
      return events.length;
    },
    push(time: number, event: E) {
      times.push(time);
      orders.push(pushed++);
      events.push(event);
      let i = events.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!less(i, parent)) break;
        swap(i, parent);
        i = parent;
      }
    },
    /** The earliest event and its time, or undefined when empty. */
    pop(): { time: number; event: E } | undefined {
      if (events.length === 0) return undefined;
      const top = { time: times[0]!, event: events[0]! };
      const last = events.length - 1;
      swap(0, last);
      times.pop();
      orders.pop();
      events.pop();
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < events.length && less(l, m)) m = l;
        if (r < events.length && less(r, m)) m = r;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
      return top;
    },
  };
}
