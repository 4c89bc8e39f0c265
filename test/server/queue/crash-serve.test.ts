import { describe, it, expect } from 'vitest';
import { serveCrashRun } from './crash-serve.js';

describe('crash safety of readdress serve (kill -9 during an SMTP run)', () => {
  it('every message that got 250 is delivered after a restart', async () => {
    const r = await serveCrashRun(400, 200);
    console.log(`serve crash test: ${r.acked} got 250, ${r.delivered} delivered, ${r.lost} lost, ${r.duplicates} delivered twice`);
    expect(r.acked).toBeGreaterThanOrEqual(200);
    expect(r.lost).toBe(0);
    expect(r.duplicates).toBeLessThanOrEqual(4);
  }, 180_000);
});
