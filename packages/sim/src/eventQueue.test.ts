import { describe, expect, it } from 'vitest';
import { createEventQueue } from './eventQueue.ts';
import { createRng } from './rng.ts';

describe('event queue', () => {
  it('pops events by time, ties in push order', () => {
    const queue = createEventQueue<string>();
    const rng = createRng(3);
    const pushed = Array.from({ length: 500 }, (_, i) => ({ time: Math.floor(rng() * 50), name: `e${i}` }));
    for (const e of pushed) queue.push(e.time, e.name);
    const popped: string[] = [];
    for (let e = queue.pop(); e; e = queue.pop()) popped.push(e.event);
    const expected = [...pushed].sort((a, b) => a.time - b.time).map((e) => e.name); // Array.sort is stable
    expect(popped).toEqual(expected);
    expect(queue.size).toBe(0);
  });
});

describe('rng', () => {
  it('repeats a stream for a seed and differs across streams', () => {
    const a = createRng(1, 'x');
    const b = createRng(1, 'x');
    const c = createRng(1, 'y');
    const seqA = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(seqA);
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
