import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { testKinds } from '../testing/step-kinds.js';
import { inventoryJsonSchema, runbookJsonSchema, schemaFiles, writeSchemas } from './jsonschema.js';

const schemaDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema');
const tmp = mkdtempSync(join(tmpdir(), 'cutover-schema-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: navigating generated JSON Schema
type Json = Record<string, any>;

describe('committed schema files', () => {
  it('equal what the code generates (regenerate with UPDATE_SCHEMA=1)', async () => {
    if (process.env.UPDATE_SCHEMA === '1') await writeSchemas(schemaDir);
    for (const [name, text] of Object.entries(schemaFiles())) {
      let committed = '';
      try {
        committed = readFileSync(join(schemaDir, name), 'utf8');
      } catch {
        // reported by the comparison below
      }
      expect(
        committed,
        `schema/${name} is stale: run UPDATE_SCHEMA=1 npx vitest run src/docs/jsonschema.test.ts`,
      ).toBe(text);
    }
  });

  it('writeSchemas writes both files', async () => {
    const written = await writeSchemas(tmp, testKinds);
    expect(written).toEqual([join(tmp, 'runbook.schema.json'), join(tmp, 'inventory.schema.json')]);
    expect(readFileSync(join(tmp, 'runbook.schema.json'), 'utf8')).toBe(
      schemaFiles(testKinds)['runbook.schema.json'],
    );
  });
});

describe('runbookJsonSchema', () => {
  const schema = runbookJsonSchema(testKinds) as Json;

  it('describes steps as a oneOf of objects with exactly one kind key each, shared by preflight and phases', () => {
    expect(schema.properties.preflight.items).toEqual({ $ref: '#/$defs/step' });
    expect(schema.properties.phases.items.properties.steps.items).toEqual({ $ref: '#/$defs/step' });
    const options = schema.$defs.step.oneOf as Json[];
    expect(options.map((o) => o.required)).toEqual([
      ['test.http'],
      ['test.run'],
      ['test.stop'],
      ['test.wait'],
    ]);
    for (const option of options) {
      expect(option.additionalProperties).toBe(false);
      expect(Object.keys(option.properties)).toEqual([
        'id',
        'name',
        'when',
        'timeout',
        'retries',
        'retry_delay',
        'source',
        'todo',
        'become',
        'become_user',
        option.required[0],
      ]);
    }
  });

  it("takes each kind's params from its zod schema, custom word types as strings, durations as string or number (a bare number is refused at load)", () => {
    const stop = (schema.$defs.step.oneOf as Json[])[2]?.properties['test.stop'];
    expect(stop.description).toBe('Stops a unit (test kind).');
    expect(stop.required).toEqual(['unit']);
    expect(stop.additionalProperties).toBe(false);
    expect(stop.properties.unit).toEqual({ type: 'string', description: 'the unit' });
    expect(stop.properties.timeout).toEqual({
      description: 'a duration with a unit: 500ms, 30s, 5m, 1h30m (at most 24d)',
      type: ['string', 'number'],
    });
    expect(stop.properties.force).toEqual({ type: 'boolean', default: false });
  });

  it('shows defaults and required keys of the runbook shape', () => {
    expect(schema.required).toEqual(['name', 'phases']);
    const phase = schema.properties.phases.items;
    expect(phase.required).toEqual(['hosts', 'steps']);
    expect(phase.properties.rolling.properties.serial).toMatchObject({
      type: 'integer',
      minimum: 1,
      default: 1,
    });
    expect(phase.properties.rolling.properties.serial.maximum).toBeUndefined();
    expect(phase.properties.drain.properties.max_drained.default).toBe(1);
    expect(schema.properties.params.additionalProperties.properties.type.enum).toEqual([
      'string',
      'version',
      'number',
      'boolean',
    ]);
  });

  it('allows any kind key when no kinds are registered', () => {
    const empty = runbookJsonSchema(new Map()) as Json;
    expect(empty.$defs.step.additionalProperties).toEqual({});
  });
});

describe('inventoryJsonSchema', () => {
  it('describes hosts by name with their connection fields', () => {
    const schema = inventoryJsonSchema() as Json;
    expect(schema.required).toEqual(['hosts']);
    const host = schema.properties.hosts.additionalProperties.anyOf[0];
    expect(Object.keys(host.properties)).toEqual([
      'address',
      'port',
      'user',
      'roles',
      'vars',
      'transport',
      'ssh_options',
      'become',
      'become_user',
    ]);
    expect(host.properties.port).toMatchObject({ type: 'integer', minimum: 1, maximum: 65535 });
  });
});
