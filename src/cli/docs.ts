import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { eventsDocsMarkdown, eventsJsonSchema } from '../docs/events.js';
import { inventoryJsonSchema, runbookJsonSchema } from '../docs/jsonschema.js';
import { docsMarkdown } from '../docs/reference.js';
import { EXIT_CODES_DOC } from './exit-codes.js';

/** `cutover docs`: the reference, generated from the same zod schemas that validate runbooks. */
export function registerDocs(program: Command): void {
  program
    .command('docs')
    .description('print the runbook reference (Markdown), or the JSON Schema with --schema')
    .option(
      '--schema <which>',
      'print a JSON Schema: runbook, inventory, or events (the --json event stream)',
    )
    .action((opts: { schema?: string }) => {
      if (opts.schema === 'runbook')
        process.stdout.write(`${JSON.stringify(runbookJsonSchema(), null, 2)}\n`);
      else if (opts.schema === 'inventory')
        process.stdout.write(`${JSON.stringify(inventoryJsonSchema(), null, 2)}\n`);
      else if (opts.schema === 'events')
        process.stdout.write(`${JSON.stringify(eventsJsonSchema(), null, 2)}\n`);
      else if (opts.schema !== undefined)
        throw new UsageError(
          `--schema ${opts.schema}: expected runbook, inventory or events`,
          'Example: cutover docs --schema events',
        );
      else process.stdout.write(`${docsMarkdown()}\n${eventsDocsMarkdown()}\n${EXIT_CODES_DOC}`);
    });
}
