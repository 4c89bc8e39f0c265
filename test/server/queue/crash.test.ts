import { describe, it, expect } from 'vitest';
import { crashRun } from './crash.js';

describe('crash safety (kill -9 while enqueuing and delivering)', () => {
  it('delivers every acknowledged message after a restart; duplicates are only the in-flight ones', async () => {
    const r = await crashRun(600, 300);
    expect(r.acked).toBeGreaterThanOrEqual(300);
    expect(r.lost).toBe(0);
    // Only deliveries in flight at the kill can repeat: at most one batch per concurrency slot.
    expect(r.duplicates).toBeLessThanOrEqual(8);
    console.log(`crash test: ${r.acked} acknowledged, ${r.deliveries} deliveries, ${r.lost} lost, ${r.duplicates} duplicated`);
  }, 120_000);
});
