/**
 * Buffered reader over the client socket: whole lines (CRLF or bare LF) with a length limit, or
 * exact byte counts (BDAT). Commands are read one at a time, so pipelined input simply waits in
 * the buffer; `pending()` tells the session whether more input is already there (Postfix
 * flushes its replies only when the input buffer is empty). STARTTLS swaps the underlying
 * stream and drops anything the client pipelined in plaintext.
 */
import type { Duplex } from 'node:stream';

const LF = 10;
const CR = 13;

export interface Line {
  /** The line without its terminator. */
  data: Buffer;
  /** The line ended in a bare LF (no CR). */
  bareLf: boolean;
  /** False when the line was cut at the limit and continues in the next read. */
  complete: boolean;
}

export class InputClosedError extends Error {}
export class InputTimeoutError extends Error {}

export class SmtpInput {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private waiter: (() => void) | undefined;
  private stream: Duplex | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.wake();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };

  constructor(stream: Duplex, private timeoutMs: number) {
    this.attach(stream);
  }

  /** Read from a new stream (after STARTTLS); unread plaintext is discarded. */
  attach(stream: Duplex): void {
    if (this.stream) {
      this.stream.off('data', this.onData);
      this.stream.off('end', this.onEnd);
      this.stream.off('close', this.onEnd);
      this.stream.off('error', this.onEnd);
    }
    this.buf = Buffer.alloc(0);
    // The client may be gone already (it closed while its name was being looked up).
    this.ended = stream.destroyed || stream.readableEnded;
    this.stream = stream;
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onEnd);
  }

  /** Stop listening (before handing the raw socket to TLS). */
  detach(): void {
    if (!this.stream) return;
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onEnd);
    this.stream = undefined;
    this.buf = Buffer.alloc(0);
  }

  /** End input now: a blocked read fails with InputClosedError. */
  close(): void {
    this.ended = true;
    this.wake();
  }

  /** Bytes already received and not yet read. */
  pending(): boolean {
    return this.buf.length > 0;
  }

  /** Up to `n` unread bytes, without consuming them. */
  peek(n: number): Buffer {
    return this.buf.subarray(0, n);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private async waitMore(): Promise<void> {
    if (this.ended) throw new InputClosedError('client disconnected');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new InputTimeoutError('timeout'));
      }, this.timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Next line, at most `limit` bytes. With `skipRest` (commands) the rest of an overlong line
   * is discarded; otherwise (message content) it is returned by the following calls.
   */
  async readLine(limit: number, skipRest = false): Promise<Line> {
    for (;;) {
      const nl = this.buf.indexOf(LF);
      if (nl >= 0 && nl <= limit) {
        const bareLf = nl === 0 || this.buf[nl - 1] !== CR;
        const end = bareLf ? nl : nl - 1;
        const data = this.buf.subarray(0, end);
        this.buf = this.buf.subarray(nl + 1);
        return { data: Buffer.from(data), bareLf, complete: true };
      }
      if (this.buf.length > limit) {
        // Keep a CR that may belong to the CRLF right after the limit.
        const data = Buffer.from(this.buf.subarray(0, limit));
        this.buf = this.buf.subarray(limit);
        if (skipRest) {
          await this.skipToEol();
          return { data, bareLf: false, complete: true };
        }
        return { data, bareLf: false, complete: false };
      }
      if (this.ended) {
        if (this.buf.length > 0 && !skipRest) {
          // EOF in the middle of a line: the session treats it as a lost connection.
        }
        throw new InputClosedError('client disconnected');
      }
      await this.waitMore();
    }
  }

  private async skipToEol(): Promise<void> {
    for (;;) {
      const nl = this.buf.indexOf(LF);
      if (nl >= 0) {
        this.buf = this.buf.subarray(nl + 1);
        return;
      }
      this.buf = Buffer.alloc(0);
      await this.waitMore();
    }
  }

  /** Exactly `n` bytes (BDAT chunks). */
  async readBytes(n: number, sink: (chunk: Buffer) => void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0) await this.waitMore();
      const take = Math.min(left, this.buf.length);
      sink(Buffer.from(this.buf.subarray(0, take)));
      this.buf = this.buf.subarray(take);
      left -= take;
    }
  }
}
