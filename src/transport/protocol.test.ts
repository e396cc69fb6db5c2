import { describe, expect, it } from 'vitest';
import { FrameScanner } from './protocol.js';

const key = Buffer.from('@co0123456789abcdef');

/** Feeds `input` in pieces of `size` bytes; returns the text and frames seen. */
function scan(input: Buffer, size: number): { text: string; frames: string[] } {
  const text: Buffer[] = [];
  const frames: string[] = [];
  const scanner = new FrameScanner(
    key,
    (t) => text.push(Buffer.from(t)),
    (f) => frames.push(f),
  );
  for (let i = 0; i < input.length; i += size) scanner.push(input.subarray(i, i + size));
  return { text: Buffer.concat(text).toString('utf8'), frames };
}

describe('FrameScanner', () => {
  const input = Buffer.from(
    'out without newline' +
      '@co0123456789abcdefnonceP 12\n' +
      'more ж text @co01 (a key prefix that is not a key) @c\n' +
      '@co0123456789abcdefnonceX 0\n' +
      'after',
  );

  it('separates text and frames whatever the chunk boundaries', () => {
    for (const size of [1, 2, 3, 7, 19, 20, 64, input.length]) {
      expect(scan(input, size), `chunks of ${size}`).toEqual({
        text: 'out without newlinemore ж text @co01 (a key prefix that is not a key) @c\nafter',
        frames: ['nonceP 12', 'nonceX 0'],
      });
    }
  });

  it('holds back a trailing key prefix until the next chunk decides', () => {
    const seen: string[] = [];
    const scanner = new FrameScanner(
      key,
      (t) => seen.push(`text:${t.toString()}`),
      (f) => seen.push(`frame:${f}`),
    );
    scanner.push(Buffer.from('abc@co012'));
    expect(seen).toEqual(['text:abc']);
    scanner.push(Buffer.from('3X'));
    expect(seen).toEqual(['text:abc', 'text:@co0123X']);
    scanner.push(Buffer.from('@co0123456789abcdef'));
    scanner.push(Buffer.from('nE\n'));
    expect(seen).toEqual(['text:abc', 'text:@co0123X', 'frame:nE']);
  });
});
