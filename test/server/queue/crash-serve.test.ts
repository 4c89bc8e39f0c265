import { describe, it, expect } from 'vitest';
import { serveCrashRun } from './crash-serve.js';

describe('crash safety of readdress serve (kill -9 in the middle of a 5,000-message SMTP run)', () => {
  it('every message that got 250 is delivered after a restart', async () => {
    const r = await serveCrashRun(5000, 2500);
    console.log(`serve crash test: ${r.acked} got 250, ${r.delivered} delivered, ${r.lost} lost, ${r.duplicates} delivered twice`);
    expect(r.acked).toBeGreaterThanOrEqual(2500);
    expect(r.lost).toBe(0);
    expect(r.duplicates).toBeLessThanOrEqual(4);
  }, 180_000);
});
