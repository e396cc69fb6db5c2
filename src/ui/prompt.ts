import { createInterface } from 'node:readline';

let queue: Promise<unknown> = Promise.resolve();

/**
 * Asks a yes/no question at the terminal, one question at a time (several hosts may reach a gate
 * together). Resolves true/false, or undefined when `cancel` fires first (the dashboard answered,
 * or the run was aborted); a cancelled question is withdrawn from the screen.
 * Example: `await askYesNo('[web] Check the login page. Approve? [y/N] ', signal)`.
 */
export function askYesNo(
  question: string,
  cancel: AbortSignal,
  streams: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream } = {
    input: process.stdin,
    output: process.stderr,
  },
): Promise<boolean | undefined> {
  const turn = queue.then(
    () =>
      new Promise<boolean | undefined>((resolve) => {
        if (cancel.aborted) return resolve(undefined);
        const rl = createInterface({ input: streams.input, output: streams.output });
        const onCancel = () => {
          resolve(undefined);
          rl.close();
          streams.output.write(' (answered elsewhere)\n');
        };
        cancel.addEventListener('abort', onCancel, { once: true });
        rl.question(question, (answer) => {
          cancel.removeEventListener('abort', onCancel);
          resolve(/^y(es)?$/i.test(answer.trim()));
          rl.close();
        });
        // Ctrl-D: no answer is a no.
        rl.on('close', () => resolve(false));
      }),
  );
  queue = turn.catch(() => undefined);
  return turn;
}
