import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../journal/events.js';
import { sampleRun } from '../testing/sample-run.js';
import { ganttSvg } from './gantt.js';
import { runView } from './run-view.js';

/** The `<g>` groups of one class, as [data-step, class] pairs. */
function groups(svg: string, cls: string): string[][] {
  return [...svg.matchAll(new RegExp(`<g class="(${cls}[^"]*)" data-step="([^"]*)"`, 'g'))].map((m) => [
    m[2] as string,
    m[1] as string,
  ]);
}

describe('ganttSvg', () => {
  it('draws a row per host, a bar per attempt, hatched waits and gates, marked failures and undos', async () => {
    const { events } = await sampleRun();
    const view = runView(events);
    const svg = ganttSvg(view);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg.match(/class="g-host [^"]*">[ab]</g)).toHaveLength(2);
    const bars = groups(svg, 'g-bar');
    expect(bars).toHaveLength(view.bars.length);
    expect(bars).toContainEqual(['up/install@b', 'g-bar g-retried']);
    expect(bars).toContainEqual(['up/install@b', 'g-bar g-failed']);
    expect(bars).toContainEqual(['up/check@a', 'g-bar g-succeeded g-is-gate']);
    // The failed attempt carries a ✗; the wait and the gate are hatched from when they began waiting.
    expect(svg.match(/class="g-x">✗</g)).toHaveLength(1);
    expect(svg).toMatch(/data-step="up\/wait-gone@a"[\s\S]*?class="g-wait"/);
    expect(svg).toMatch(/data-step="up\/check@a"[\s\S]*?class="g-wait g-gate-wait"/);
    expect(groups(svg, 'g-undo')).toEqual([
      ['up/install@b', 'g-undo g-undo-succeeded'],
      ['up/stop@b', 'g-undo g-undo-succeeded'],
    ]);
    expect(svg).toContain('gate approved by dashboard (127.0.0.1)');
    expect(svg).toContain('class="g-phase-label">up<');
    // A finished run has no "now" line.
    expect(svg).not.toContain('class="g-now"');
  });

  it('extends running bars to now and draws the now line for an open run', async () => {
    const { events } = await sampleRun();
    const cut = events.findIndex((e) => e.type === 'step.waiting');
    const view = runView(events.slice(0, cut + 1));
    const now = view.lastEventAt + 60_000;
    const svg = ganttSvg(view, { now });
    expect(svg).toContain('class="g-now"');
    expect(svg).toMatch(/g-bar g-running g-waited" data-step="up\/wait-gone@a"[\s\S]*?, 1m00s/);
    // The axis spans the minute: its last tick is +1m00s.
    expect(svg).toContain('>+1m00s<');
  });

  it('stacks the names of phases that start together, and keeps the rest as lines with a tooltip', async () => {
    const { events } = await sampleRun();
    const view = runView(events);
    view.phases = ['distribution', 'install', 'upgrade', 'verify'].map((id, i) => ({
      id,
      start: view.startedAt + i,
    }));
    const svg = ganttSvg(view);
    expect(
      [...svg.matchAll(/<text x="[\d.]+" y="(\d+)" class="g-phase-label">(\w+)</g)].map(
        (m) => `${m[2]}@${m[1]}`,
      ),
    ).toEqual(['distribution@10', 'install@21', 'upgrade@32']);
    expect(svg.match(/class="g-phase"/g)).toHaveLength(4);
    expect(svg).toContain('<title>phase verify</title>');
  });

  it('escapes host names, step names and errors', async () => {
    const { events } = await sampleRun();
    const hostile = JSON.parse(
      JSON.stringify(events)
        .replaceAll('"b"', '"<b&x>"')
        .replaceAll('@b"', '@<b&x>"')
        .replaceAll('disk full', '</title><script>x</script>'),
    ) as JournalEvent[];
    const svg = ganttSvg(runView(hostile));
    expect(svg).not.toContain('<script>');
    expect(svg).not.toContain('<b&x>');
    expect(svg).toContain('&lt;b&amp;x&gt;');
  });
});
