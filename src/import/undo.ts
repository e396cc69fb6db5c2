/**
 * A rollback command that plainly reverses a forward command becomes that step's `undo:`:
 * `sed -i 's/A/B/' F` is undone by `sed -i 's/B/A/' F`, `ln -sfn NEW LINK` by `ln -sfn OLD LINK`,
 * `mv A B` by `mv B A`. Anything less plain stays a rollback comment with its TODO. Pure.
 */
import type { PhaseDraft, StepDraft } from './model.js';
import { parseShellLine, type SimpleCommand, withoutSudo } from './shell-words.js';

/** The words of a one-part command without sudo, or undefined for chains and pipes. */
function wordsOf(text: string): string[] | undefined {
  let parts: SimpleCommand[];
  try {
    parts = parseShellLine(text);
  } catch {
    return undefined;
  }
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only?.stages.length !== 1 || only.redirects.length > 0 || only.background) return undefined;
  return withoutSudo(only.stages[0] ?? []).map((w) => w.value);
}

/** `s<d>A<d>B<d>FLAGS` read into its parts. Example: 's/a/b/g' -> { from: 'a', to: 'b', flags: 'g' }. */
function substitution(script: string): { from: string; to: string; flags: string } | undefined {
  const d = script[1];
  if (script[0] !== 's' || d === undefined || /[\w\s\\]/.test(d)) return undefined;
  const parts = script.slice(2).split(d);
  if (parts.length !== 3 || parts.some((p) => p.endsWith('\\'))) return undefined;
  return { from: parts[0] as string, to: parts[1] as string, flags: parts[2] as string };
}

/** True when `back` plainly reverses `forward` (both commands as written). Example: reverses("sed -i 's/a/b/' f", "sed -i 's/b/a/' f") -> true. */
export function reverses(forward: string, back: string): boolean {
  const f = wordsOf(forward);
  const b = wordsOf(back);
  if (!f || !b || f.length !== b.length || f[0] !== b[0]) return false;
  const program = f[0];
  if (program === 'sed') {
    const opts = (w: string[]) => w.filter((x) => x.startsWith('-')).join(' ');
    const rest = (w: string[]) => w.filter((x) => !x.startsWith('-'));
    const [fs, ...ffiles] = rest(f.slice(1));
    const [bs, ...bfiles] = rest(b.slice(1));
    if (!/(?:^|\s)-[a-zA-Z]*i|--in-place/.test(opts(f)) || opts(f) !== opts(b)) return false;
    const x = substitution(fs ?? '');
    const y = substitution(bs ?? '');
    return (
      x !== undefined &&
      y !== undefined &&
      x.flags === y.flags &&
      ffiles.join(' ') === bfiles.join(' ') &&
      ffiles.length > 0 &&
      unescaped(x.from) === y.to &&
      unescaped(y.from) === x.to
    );
  }
  if (program === 'ln') {
    const opts = f.filter((x) => x.startsWith('-'));
    if (
      !opts.some((o) => /^-[a-zA-Z]*s/.test(o)) ||
      opts.join(' ') !== b.filter((x) => x.startsWith('-')).join(' ')
    )
      return false;
    const fa = f.filter((x) => !x.startsWith('-')).slice(1);
    const ba = b.filter((x) => !x.startsWith('-')).slice(1);
    return fa.length === 2 && ba.length === 2 && fa[1] === ba[1] && fa[0] !== ba[0];
  }
  if (program === 'mv') {
    const fa = f.slice(1);
    const ba = b.slice(1);
    return fa.length === 2 && ba.length === 2 && fa[0] === ba[1] && fa[1] === ba[0];
  }
  return false;
}

/** A sed pattern read as the literal it matches, when it is one (`127\.0\.0\.1` -> `127.0.0.1`). */
function unescaped(pattern: string): string {
  return pattern.replace(/\\([.[\]*^$/])/g, '$1');
}

/** The last forward shell.run step (without an undo) or text.edit, in `phases` then `current`, that `back` reverses and that has no undo yet. */
export function reversedStep(
  phases: readonly PhaseDraft[],
  back: string,
  commandOf: (step: StepDraft) => string | undefined,
): { phase: string; step: StepDraft } | undefined {
  for (const phase of [...phases].reverse()) {
    const steps = phase.entries.flatMap((e) => ('step' in e ? [e.step] : [])).reverse();
    for (const step of steps) {
      // A text.edit (a typed sed -i) has its own undo: the original, byte-identical.
      const undoable =
        (step.kind === 'shell.run' && step.params.undo === undefined) || step.kind === 'text.edit';
      if (!undoable || step.copiedFrom !== undefined) continue;
      const forward = commandOf(step);
      if (forward !== undefined && reverses(forward, back)) return { phase: phase.id, step };
    }
  }
  return undefined;
}
