import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTable } from '../../src/maps/index.js';
import { tmpDir, writeFiles } from './helpers/vectors.js';

describe('unix:passwd.byname', () => {
  const dir = writeFiles(tmpDir(), {
    passwd: 'root:x:0:0:root:/root:/bin/bash\ntom:x:1000:1000:Tom,,,:/home/tom:/bin/sh\n# comment\ntom:x:1001:1001::/x:/bin/false\nbroken line\n',
    group: 'mail:x:8:tom,white\n',
  });
  const opts = { passwdFile: path.join(dir, 'passwd'), groupFile: path.join(dir, 'group') };

  it('returns the passwd entry; first entry wins', async () => {
    const t = await openTable('unix:passwd.byname', opts);
    expect(await t.lookup('root')).toBe('root:x:0:0:root:/root:/bin/bash');
    expect(await t.lookup('tom')).toBe('tom:x:1000:1000:Tom,,,:/home/tom:/bin/sh');
    expect(await t.lookup('nobody-here')).toBeUndefined();
    expect(t.kind).toBe('fixed');
  });

  it('is transparent behind proxy:', async () => {
    const t = await openTable('proxy:unix:passwd.byname', opts);
    expect(await t.lookup('TOM')).toBe('tom:x:1000:1000:Tom,,,:/home/tom:/bin/sh');
  });

  it('group.byname', async () => {
    const t = await openTable('unix:group.byname', opts);
    expect(await t.lookup('mail')).toBe('mail:x:8:tom,white');
  });

  it('unknown names fail as Postfix says', async () => {
    await expect(openTable('unix:foo', opts)).rejects.toThrow('unknown table: unix:foo');
  });

  it('reads /etc/passwd by default', async () => {
    const t = await openTable('unix:passwd.byname');
    expect(await t.lookup('root')).toMatch(/^root:[^:]*:0:0:/);
  });
});
