import { describe, it, expect, beforeEach } from 'vitest';
import { mkdtempSync, readdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileQueue } from '../../../src/server/queue/queue.js';
import { isQueueId, makeQueueId, parseQueueFile, serializeQueueFile } from '../../../src/server/queue/file.js';
import type { NewMessage } from '../../../src/server/queue/types.js';

function msg(over: Partial<NewMessage> = {}): NewMessage {
  return {
    sender: 'bob@remote.example',
    recipients: [
      { address: 'tom@test.com', original: 'tom@test.com' },
      { address: 'white@test.com', original: 'staff@test.com', orcpt: 'rfc822;staff@test.com', notify: ['FAILURE'] },
    ],
    content: Buffer.from('From: bob@remote.example\nSubject: x\n\nbody\nline "two"\n'),
    arrivedAt: new Date(1_700_000_000_000),
    attributes: { protocol: 'ESMTP', clientAddress: '127.0.0.1' },
    ...over,
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rdq-'));
});

describe('queue file format', () => {
  it('round-trips envelope, recipients and content', () => {
    const buf = serializeQueueFile(msg(), 1_700_000_000_500);
    const qf = parseQueueFile(buf, 'x');
    expect(qf.header.sender).toBe('bob@remote.example');
    expect(qf.header.arrival).toBe(1_700_000_000_000);
    expect(qf.header.create).toBe(1_700_000_000_500);
    expect(qf.recipients.map((r) => [r.address, r.original, r.orcpt, r.notify, r.done])).toEqual([
      ['tom@test.com', 'tom@test.com', undefined, undefined, false],
      ['white@test.com', 'staff@test.com', 'rfc822;staff@test.com', ['FAILURE'], false],
    ]);
    expect(qf.content!.toString()).toBe(msg().content.toString());
    expect(buf[qf.recipients[1]!.offset]).toBe('R'.charCodeAt(0));
  });

  it('keeps addresses with newlines and quotes on one record', () => {
    const qf = parseQueueFile(serializeQueueFile(msg({ sender: 'a\nb"c@x', recipients: [{ address: '"x y"@z', original: 'q\r\n@z' }] }), 0), 'x');
    expect(qf.header.sender).toBe('a\nb"c@x');
    expect(qf.recipients[0]!.original).toBe('q\r\n@z');
  });

  it('rejects a truncated file (no end marker) with the file name', () => {
    const buf = serializeQueueFile(msg(), 0);
    expect(() => parseQueueFile(buf.subarray(0, buf.length - 2), '/q/incoming/ABC')).toThrow(/\/q\/incoming\/ABC.*missing end marker/);
    expect(() => parseQueueFile(Buffer.from('garbage'), 'f')).toThrow(/bad magic/);
  });

  it('keeps a content filter (F record) and still reads files written without one', () => {
    const withFilter = serializeQueueFile(msg({ filter: 'smtp:[127.0.0.1]:10025' }), 0);
    const qf = parseQueueFile(withFilter, 'x');
    expect(qf.filter).toBe('smtp:[127.0.0.1]:10025');
    expect(qf.recipients.map((r) => r.address)).toEqual(['tom@test.com', 'white@test.com']);
    expect(qf.content!.toString()).toBe(msg().content.toString());
    // A file from before the F record existed: same layout minus that line.
    const plain = serializeQueueFile(msg(), 0);
    expect(withFilter.toString('latin1').replace(/^F.*\n/m, '')).toBe(plain.toString('latin1'));
    expect(parseQueueFile(plain, 'x').filter).toBeUndefined();
    const bad = Buffer.from(withFilter.toString('latin1').replace(/^F.*$/m, 'F{"x":1}'), 'latin1');
    expect(() => parseQueueFile(bad, '/q/active/ABC')).toThrow(/\/q\/active\/ABC.*bad content filter record/);
  });

  it('makes Postfix-style short queue IDs', () => {
    expect(makeQueueId(0x12345, 0xabcdef)).toBe('12345ABCDEF');
    expect(makeQueueId(5, 16)).toBe('0000510');
    expect(isQueueId('12345ABCDEF')).toBe(true);
    expect(isQueueId('t123.4')).toBe(false);
    expect(isQueueId('12345abcdef')).toBe(false);
  });
});

describe('FileQueue', () => {
  it('enqueue resolves only after the file is complete under its queue ID', async () => {
    const q = new FileQueue(dir);
    const id = await q.enqueue(msg());
    expect(isQueueId(id)).toBe(true);
    expect(readdirSync(join(dir, 'incoming'))).toEqual([id]);
    const qf = parseQueueFile(readFileSync(join(dir, 'incoming', id)), id);
    expect(qf.recipients).toHaveLength(2);
  });

  it('gives distinct IDs to concurrent enqueues', async () => {
    const q = new FileQueue(dir);
    const ids = await Promise.all(Array.from({ length: 50 }, () => q.enqueue(msg())));
    expect(new Set(ids).size).toBe(50);
    expect(readdirSync(join(dir, 'incoming')).sort()).toEqual([...ids].sort());
  });

  it('hold=true goes to the hold queue', async () => {
    const q = new FileQueue(dir);
    const id = await q.enqueue(msg({ hold: true }));
    expect(await q.locate(id)).toBe('hold');
  });

  it('reserve() gives the ID first; abort leaves nothing behind', async () => {
    const q = new FileQueue(dir);
    const r = await q.reserve();
    expect(await q.list('incoming')).toEqual([]);
    const r2 = await q.reserve();
    await r2.abort();
    const id = await r.commit(msg());
    expect(id).toBe(r.id);
    expect(readdirSync(join(dir, 'incoming'))).toEqual([id]);
    await expect(r.commit(msg())).rejects.toThrow(/already committed/);
  });

  it('marks recipients done in place', async () => {
    const q = new FileQueue(dir);
    const id = await q.enqueue(msg());
    const qf = await q.read('incoming', id);
    await q.markDone('incoming', id, [qf.recipients[1]!.offset]);
    const again = await q.read('incoming', id);
    expect(again.recipients.map((r) => r.done)).toEqual([false, true]);
  });

  it('recovery requeues active files and drops temp files of dead writers only', async () => {
    const q = new FileQueue(dir);
    const id = await q.enqueue(msg());
    await q.move(id, 'incoming', 'active');
    writeFileSync(join(dir, 'incoming', 't999999999.1'), 'RDQ1\nW00');           // dead pid
    const live = await q.reserve();                                              // this process: in progress
    const res = await new FileQueue(dir).recover();
    expect(res.requeued).toBe(1);
    expect(await q.list('incoming')).toEqual([id]);
    expect(existsSync(join(dir, 'incoming', 't999999999.1'))).toBe(false);
    expect(readdirSync(join(dir, 'incoming')).some((n) => n.startsWith(`t${process.pid}.`))).toBe(true);
    await live.abort();
  });

  it('defer and bounce logs are append-only JSON lines and go with the message', async () => {
    const q = new FileQueue(dir);
    const id = await q.enqueue(msg());
    const e = { recipient: 'a@b', original: 'a@b', dsn: '4.4.1', text: 'connect to b[1.2.3.4]:25: Connection refused', relay: 'none', time: 1 };
    await q.appendLog('defer', id, [e]);
    await q.appendLog('defer', id, [{ ...e, recipient: 'c@d' }]);
    expect((await q.readLog('defer', id)).map((x) => x.recipient)).toEqual(['a@b', 'c@d']);
    expect(await q.remove('incoming', id)).toBe(true);
    expect(await q.readLog('defer', id)).toEqual([]);
    expect(await q.remove('incoming', id)).toBe(false);
  });
});
