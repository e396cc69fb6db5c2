/**
 * JSON Schema for editors and CI, generated from the zod schemas (runbook/schema.ts, inventory/schema.ts)
 * with `z.toJSONSchema`. Steps are a oneOf of objects with exactly one kind key each. The
 * committed files in `schema/` are checked against this by jsonschema.test.ts
 * (regenerate: `UPDATE_SCHEMA=1 npx vitest run src/docs/jsonschema.test.ts`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { inventorySchema } from '../inventory/schema.js';
import { runbookSchema, type StepKindRegistry } from '../runbook/schema.js';
import { stepKinds } from '../steps/index.js';
import type { StepKind } from '../steps/kind.js';

type JsonSchema = Record<string, unknown>;

/** The JSON Schema of a zod schema as cutover publishes it (input shape, custom word types as strings). Example: toJsonSchema(rollingSchema). */
export function toJsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: ({ jsonSchema }) => {
      const s = jsonSchema as JsonSchema;
      // A `type` set for docs next to an anyOf (durations: string or number) would forbid the other options.
      if (s.anyOf && s.type) delete s.type;
      if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
      if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
    },
  }) as JsonSchema;
}

/** JSON Schema of runbook files. Example: `runbookJsonSchema().properties.phases`. */
export function runbookJsonSchema(kinds: StepKindRegistry = stepKinds): JsonSchema {
  const schema = toJsonSchema(runbookSchema(kinds as ReadonlyMap<string, StepKind<unknown>>));
  // Preflight and phase steps share one (large) step schema: define it once.
  const properties = schema.properties as Record<string, JsonSchema>;
  const step = (properties.preflight as { items: JsonSchema }).items;
  const text = JSON.stringify(step);
  const replace = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(replace);
    if (!node || typeof node !== 'object') return node;
    if (JSON.stringify(node) === text) return { $ref: '#/$defs/step' };
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, replace(v)]));
  };
  return { ...(replace(schema) as JsonSchema), $defs: { step } };
}

/** JSON Schema of cutover inventory files (Ansible inventories are read too, but not described here). Example: inventoryJsonSchema().required -> ['hosts']. */
export function inventoryJsonSchema(): JsonSchema {
  return toJsonSchema(inventorySchema);
}

/** The schema files' text, by file name. Example: `schemaFiles()['runbook.schema.json']`. */
export function schemaFiles(kinds: StepKindRegistry = stepKinds): Record<string, string> {
  return {
    'runbook.schema.json': `${JSON.stringify(runbookJsonSchema(kinds), null, 2)}\n`,
    'inventory.schema.json': `${JSON.stringify(inventoryJsonSchema(), null, 2)}\n`,
  };
}

/** Writes `runbook.schema.json` and `inventory.schema.json` into `dir`; returns their paths. Example: `await writeSchemas('schema')`. */
export async function writeSchemas(dir: string, kinds: StepKindRegistry = stepKinds): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of Object.entries(schemaFiles(kinds))) {
    const path = join(dir, name);
    await writeFile(path, text);
    written.push(path);
  }
  return written;
}
