import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Redactor, Secret } from '../shell/secret.js';
import { FileJournal } from './file-store.js';

const dir = () => mkdtempSync(join(tmpdir(), 'cutover-journal-'));

describe('FileJournal', () => {
  it('appends numbered events and reads them back after a restart', () => {
    const state = dir();
    const first = new FileJournal(state);
    first.append('r1', { type: 'preflight.started' });
    first.append('r1', { type: 'phase.started', phase: 'p' });
    first.close();
    const again = new FileJournal(state);
    again.append('r1', { type: 'phase.finished', phase: 'p', outcome: 'succeeded' });
    expect(again.read('r1').map((e) => [e.seq, e.type])).toEqual([
      [1, 'preflight.started'],
      [2, 'phase.started'],
      [3, 'phase.finished'],
    ]);
    expect(again.listRuns()).toEqual(['r1']);
  });

  it('ends a line torn by a crash, so the next event is not lost with it', () => {
    const state = dir();
    const journal = new FileJournal(state);
    journal.append('r1', { type: 'preflight.started' });
    journal.close();
    const file = join(state, 'runs', 'r1', 'events.jsonl');
    appendFileSync(file, '{"type":"phase.star');
    const resumed = new FileJournal(state);
    resumed.append('r1', { type: 'run.resumed', planHash: 'h', operator: 'op' });
    expect(resumed.read('r1').map((e) => e.type)).toEqual(['preflight.started', 'run.resumed']);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
  });

  it('redacts secrets that JSON escapes, in what it writes and in what it returns', () => {
    const state = dir();
    const redactor = new Redactor();
    const value = 'q"uo\\te\nline';
    redactor.add(new Secret('pw', value));
    const journal = new FileJournal(state, redactor);
    const returned = journal.append('r1', {
      type: 'step.output',
      step: 's@a',
      host: 'a',
      stream: 'stdout',
      text: `token=${value}!`,
    });
    expect(returned).toMatchObject({ text: 'token=<secret:pw>!' });
    const text = readFileSync(join(state, 'runs', 'r1', 'events.jsonl'), 'utf8');
    expect(text).not.toContain(JSON.stringify(value).slice(1, -1));
    expect(text).toContain('token=<secret:pw>!');
  });
});

describe('Redactor.safeLength', () => {
  const redactor = new Redactor();
  redactor.add(new Secret('a', 'abcd'));
  redactor.add(new Secret('b', 'cdxy'));
  redactor.add(new Secret('pem', 'line-one\nline-two'));

  it('holds back an end that may begin a secret, and never cuts through a whole one', () => {
    expect(redactor.safeLength('hello')).toBe(5);
    expect(redactor.safeLength('pw=ab')).toBe(3);
    // "cd" may begin b, but it ends a: the cut goes before a.
    expect(redactor.safeLength('x abcd')).toBe(2);
    expect(redactor.safeLength('key:\nline-one\nline')).toBe(5);
  });

  it('redacts a secret fed in any chunking, multi-line ones too', () => {
    const text = 'user abcd, then cdxy, key:\nline-one\nline-two\nend\n';
    for (const size of [1, 2, 3, 5, 7, 11]) {
      let pending = '';
      const out: string[] = [];
      for (let i = 0; i < text.length; i += size) {
        const all = pending + text.slice(i, i + size);
        const ready = redactor.safeLength(all);
        out.push(redactor.redact(all.slice(0, ready)));
        pending = all.slice(ready);
      }
      out.push(redactor.redact(pending));
      expect(out.join(''), `chunks of ${size}`).toBe(
        'user <secret:a>, then <secret:b>, key:\n<secret:pem>\nend\n',
      );
    }
  });
});
