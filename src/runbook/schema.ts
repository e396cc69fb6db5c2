/**
 * The runbook file format as zod schemas: the single source of the loader's checks, the
 * TypeScript input types, the JSON Schema (`schema/runbook.schema.json`) and `cutover docs`.
 * YAML keys are snake_case; src/runbook/model.ts holds the camelCase result of loading.
 */
import { z } from 'zod';
import { duration, positiveDuration } from '../steps/params.js';
import type { stepKinds } from '../steps/index.js';
import type { StepKind } from '../steps/kind.js';

/** A registry of step kinds by name, shaped like `stepKinds` in src/steps/index.ts (tests pass their own). Example: `new Map([['shell.run', shellRun]])`. */
export type StepKindRegistry = typeof stepKinds;
/** One kind of such a registry. Example: `shellRun`. */
export type RegisteredKind = StepKindRegistry extends ReadonlyMap<string, infer K> ? K : never;

/** A name usable after `params.`, `vars.` or `secrets.` in expressions. Example: `distr_password`. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** A phase or step id; it appears in plan ids (`upgrade/stop-gateway@web`). Example: `stop-gateway`. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const name = z.string().regex(NAME_PATTERN, {
  error: 'expected a name of letters, digits, _ and - that starts with a letter or _, e.g. distr_password',
});

const id = z
  .string()
  .regex(ID_PATTERN, {
    error: 'expected an id of letters, digits, ., _ and - (no spaces, / or @), e.g. stop-gateway',
  })
  .describe('a stable id, unique in its phase; appears in plan ids, the journal and `resume`');

/** A condition in the expression language (see "Templates and expressions" in `cutover docs`). Example: `'web' in host.roles`. */
export const expression = z
  .string({ error: 'expected an expression as text, e.g. "\'web\' in host.roles"' })
  .min(1, { error: 'expected an expression, found an empty text' })
  .meta({ description: "a condition, e.g. `params.version >= '5.0.23654.0' and 'web' in host.roles`" });

/** A runbook parameter, given with `-p name=value` (Example: `version: { type: version, required: true }`). */
export const paramSpecSchema = z
  .strictObject({
    type: z
      .enum(['string', 'version', 'number', 'boolean'], {
        error: 'expected one of "string", "version", "number", "boolean"',
      })
      .default('string')
      .describe(
        'string; version (dotted digits like 5.0.23654.0, compared part by part); number; boolean (true/false)',
      ),
    required: z.boolean().default(false).describe('refuse to plan without a value for it'),
    default: z
      .union([z.string(), z.number(), z.boolean()])
      .optional()
      .describe('the value when none is given'),
    pattern: z
      .string()
      .optional()
      .describe('for strings: a regular expression the whole value must match, e.g. `[A-Za-z0-9_-]+`'),
    description: z.string().optional().describe('shown by `cutover docs` and when the value is missing'),
  })
  .describe('A value given at plan time with `-p name=value`.');

const secretSource = z.union(
  [
    z.strictObject({ env: z.string().min(1).describe('an environment variable of the controller') }),
    z.strictObject({
      file: z
        .string()
        .min(1)
        .describe(
          'a file on the controller (`~` = home, relative = next to the runbook); its content without the final newline',
        ),
    }),
    z.strictObject({ prompt: z.literal(true).describe('ask the operator (only on a terminal)') }),
  ],
  { error: 'expected { env: NAME }, { file: PATH } or { prompt: true }' },
);

/** A secret: where to get it, tried in order; never written anywhere. Example: `{ from: [{ env: CMW_PASSWORD }, { prompt: true }] }`. */
export const secretSpecSchema = z
  .strictObject({
    from: z.array(secretSource).min(1).describe('sources tried in order; the first that has a value wins'),
    description: z.string().optional(),
  })
  .describe('A secret, read at plan time from the first source that has it; redacted everywhere.');

/** Which hosts a phase runs on. Example: `all`, `[web, backup]`, or `{ roles: [backup, web], where: ... }`. */
export const hostSelectorSchema = z
  .union(
    [
      z.literal('all').describe('every host of the inventory, in inventory order'),
      z.array(z.string().min(1)).min(1).describe('host names, in run order'),
      z.strictObject({
        roles: z
          .array(z.string().min(1))
          .min(1)
          .optional()
          .describe('roles in run order; within a role, inventory order'),
        hosts: z.array(z.string().min(1)).min(1).optional().describe('host names, after the roles'),
        where: expression.optional().describe('keep only hosts for which this condition holds'),
      }),
    ],
    { error: 'expected `all`, a list of host names, or { roles: [...], hosts: [...], where: ... }' },
  )
  .describe('Hosts in run order: `all`, `[a, b]`, or `{ roles: [backup, web], where: ... }`.');

/** How a phase rolls through its hosts. Example: `{ serial: 1, canary: { hosts: 1, pause: 5m } }`. */
export const rollingSchema = z
  .strictObject({
    serial: z
      .int()
      .min(1)
      .default(1)
      .describe(
        'hosts upgraded at the same time, in batches: the next batch starts when the whole batch is done',
      ),
    window: z
      .int()
      .min(1)
      .optional()
      .describe(
        'instead of serial: a pool that keeps this many hosts in flight, starting the next host as soon as one is done',
      ),
    max_unavailable: z
      .int()
      .min(1)
      .optional()
      .describe(
        'hosts out of service at once in the whole phase, across groups; default: serial or window (per group)',
      ),
    failure_budget: z
      .int()
      .min(0)
      .default(0)
      .describe('hosts that may fail before the phase stops (0 = stop at the first)'),
    canary: z
      .strictObject({
        hosts: z.int().min(1).default(1).describe('hosts in the canary batch'),
        pause: duration.optional().describe('wait this long after the canary before going on'),
        confirm: z.boolean().default(false).describe('ask the operator before going on'),
      })
      .optional()
      .describe('a first small batch, then a pause and/or a confirmation'),
    group_by: expression
      .optional()
      .describe('e.g. `host.vars.service`: hosts with equal values form a group; groups roll in parallel'),
  })
  .describe(
    'Rolling policy; default serial 1, max_unavailable = serial (or window), failure_budget 0. `serial: N` rolls in batches (as Ansible); `window: N` keeps N hosts in flight.',
  );

/** Traffic drain through each host's own nginx while it is upgraded. Example: `{ config: /etc/nginx/x.conf, locations: [/], upstream: 'http://{{ neighbour.address }}:8080' }`. */
export const drainSchema = z
  .strictObject({
    config: z.string().min(1).describe("the host's nginx file holding the locations (template)"),
    locations: z
      .array(z.string().min(1))
      .min(1)
      .describe('the `location` blocks to re-point, e.g. [/async, /]'),
    upstream: z
      .string()
      .min(1)
      .describe(
        'where to send them, a template over `neighbour`, e.g. `http://{{ neighbour.address }}:8080`',
      ),
    neighbours: hostSelectorSchema
      .optional()
      .describe("candidate neighbours in preference order; default: the phase's hosts"),
    health: z
      .strictObject({
        url: z
          .string()
          .min(1)
          .describe('probed from the controller before routing (template over `neighbour`)'),
        status: z
          .array(z.int().min(100).max(599))
          .min(1)
          .default([200])
          .describe('statuses that count as healthy'),
      })
      .optional()
      .describe("a neighbour's health check"),
    max_drained: z
      .int()
      .min(1)
      .default(1)
      .describe('the drain budget: at most this many hosts out of rotation at once'),
    skip_when: expression.optional().describe("hosts that are not drained, e.g. `'backup' in host.roles`"),
    validate: z.string().optional().describe('checks the edited config, e.g. `nginx -t`'),
    reload: z.string().optional().describe('applies it, e.g. `nginx -s reload`'),
  })
  .describe("Re-point the host's nginx locations to a healthy neighbour before its steps, restore after.");

/** Privilege per phase or step: overrides the host's inventory setting. Example: `{ become: false }`. */
const privilegeFields = {
  become: z
    .boolean()
    .optional()
    .describe("run through sudo (true) or as the login user (false); default: the host's inventory `become`"),
  become_user: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, { error: 'expected a user name such as postgres' })
    .optional()
    .describe('the user sudo runs as (default root); setting it turns become on here'),
};

/**
 * Traffic taken out of rotation at load balancers in front of the hosts (HAProxy's runtime API, or
 * commands for anything else). Example: `{ hosts: { roles: [lb] }, haproxy: { socket: /run/haproxy/admin.sock, backend: '{{ host.vars.service }}' } }`.
 */
export const balancerSchema = z
  .strictObject({
    hosts: hostSelectorSchema.describe(
      "the balancers in front of the phase's hosts (all of them are updated, e.g. an HA pair); they are locked and connected, never upgraded",
    ),
    haproxy: z
      .strictObject({
        socket: z
          .string()
          .min(1)
          .default('/run/haproxy/admin.sock')
          .describe("the balancer's admin socket (stats socket ... level admin); read with socat"),
        backend: z.string().min(1).describe('the backend holding the host, a template over `host`'),
        server: z
          .string()
          .min(1)
          .default('{{ host.name }}')
          .describe('the server name of the host in that backend (default its inventory name)'),
      })
      .optional()
      .describe(
        'HAProxy runtime API: drain, wait for its sessions to end, maint; after the host: ready, then UP',
      ),
    nginx: z
      .strictObject({
        config: z
          .string()
          .min(1)
          .describe("the balancer's nginx file holding the upstream (template over `host`)"),
        upstream: z.string().min(1).describe('the upstream block holding the host, e.g. app (template)'),
        server: z
          .string()
          .min(1)
          .describe(
            'the host as a server of that upstream, as written there, e.g. `{{ host.address }}:8080`',
          ),
        validate: z.string().optional().describe('default nginx -t'),
        reload: z.string().optional().describe('default nginx -s reload'),
      })
      .optional()
      .describe(
        "nginx as the balancer: the host's server marked down in the upstream, reload; restored byte-identical",
      ),
    commands: z
      .strictObject({
        drain: z
          .string()
          .min(1)
          .describe('takes the host out of rotation (run on each balancer; template over `host`)'),
        drained: z.string().min(1).describe('exits 0 once the host gets no more traffic (polled)'),
        undrain: z.string().min(1).describe('puts the host back in rotation'),
        ready: z
          .string()
          .min(1)
          .optional()
          .describe('exits 0 once the balancer sends it traffic again (polled)'),
      })
      .optional()
      .describe('any other balancer (a cloud LB CLI, F5, keepalived weights): your commands'),
    health: z
      .strictObject({
        url: z
          .string()
          .min(1)
          .describe("the host's own health URL, a template over `host`, probed from the controller"),
        status: z.array(z.int().min(100).max(599)).min(1).default([200]),
      })
      .optional()
      .describe('the host must answer this before it goes back in rotation, and while the run goes on'),
    max_drained: z
      .int()
      .min(1)
      .default(1)
      .describe('the drain budget: at most this many hosts out of rotation at once'),
    drain_timeout: positiveDuration.prefault('2m').describe("how long a host's sessions may take to end"),
    skip_when: expression.optional().describe('hosts that are not taken out of rotation'),
  })
  .describe('Take each host out of rotation at the balancers in front before its steps, back in after.');

/** The fields every step may have besides its one kind key. Example: `{ name, when, timeout: 2m, retries: 2 }`. */
export const stepFields = {
  id: id.optional().describe('default: the slug of name, else the kind; made unique with -2, -3'),
  name: z.string().min(1).optional().describe('what the step does, for people'),
  when: expression.optional().describe('run the step only on hosts where this holds'),
  timeout: positiveDuration.optional().describe('give up after this long (default 10m)'),
  retries: z.int().min(0).default(0).describe('extra attempts after a failure'),
  retry_delay: duration.prefault('5s').describe('pause between attempts'),
  source: z.string().optional().describe('where the step came from in an imported document, e.g. seed.md:42'),
  todo: z
    .string()
    .optional()
    .describe('left by `cutover import` for a person to check; a warning until removed'),
  ...privilegeFields,
};

/** The keys of a step that are not its kind. Example: `['id', 'name', 'when', ...]`. */
export const STEP_FIELD_NAMES: readonly string[] = Object.keys(stepFields);

/**
 * A step: the common fields plus exactly one key naming its kind, whose value holds the kind's
 * params. With no kinds registered, any other key is allowed (the loader checks kinds itself).
 * Example: `{ name: 'Stop the gateway', 'service.stop': { unit: 'apigateway{{ params.instance }}' } }`.
 */
export function stepSchema(kinds: ReadonlyMap<string, StepKind<unknown>>) {
  const options = [...kinds.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((kind) =>
      z
        .strictObject({ ...stepFields, [kind.name]: (kind.params as z.ZodType).describe(kind.summary) })
        .meta({ title: kind.name }),
    );
  if (options.length === 0) return z.looseObject(stepFields);
  if (options.length === 1) return options[0] as z.ZodType;
  return z.xor(options as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]]);
}

/** The fields of a phase (its steps are checked one by one). Example: `{ id: upgrade, hosts: all }`. */
export const phaseFields = {
  id: id.optional().describe('default: the slug of name; unique in the runbook'),
  name: z.string().min(1).optional().describe('what the phase does; default: the id'),
  hosts: hostSelectorSchema,
  rolling: rollingSchema.optional(),
  drain: drainSchema.optional(),
  balancer: balancerSchema.optional(),
  ...privilegeFields,
};

/** The top-level fields of a runbook (phases and preflight steps are checked one by one). Example: `{ name, params, secrets, vars }`. */
export const runbookFields = {
  $schema: z.string().optional().describe('path or URL of runbook.schema.json, for editors'),
  name: z
    .string({ error: 'expected a name for the runbook, e.g. comindware-upgrade' })
    .min(1)
    .describe('the runbook name'),
  description: z.string().optional(),
  params: z.record(name, paramSpecSchema).default({}).describe('values given at plan time: `-p name=value`'),
  secrets: z.record(name, secretSpecSchema).default({}).describe('secrets, by name: `{{ secrets.name }}`'),
  vars: z
    .record(name, z.union([z.string(), z.number(), z.boolean()]).transform(String))
    .default({})
    .describe('named templates: `{{ vars.name }}`; may use params, host and other vars (no cycles)'),
  safe_programs: z
    .array(
      z.string().regex(/^[A-Za-z0-9_.+-]+$/, 'expected a program name such as mytool (no path, no spaces)'),
    )
    .max(200)
    .default([])
    .describe(
      'programs you vouch keep their arguments and stdin data (never run them as code): a {{ }} value may then be their argument in a script',
    ),
};

/** The whole runbook document, for JSON Schema and docs. Example: `runbookSchema(stepKinds).parse(yamlValue)`. */
export function runbookSchema(kinds: ReadonlyMap<string, StepKind<unknown>>) {
  const step = stepSchema(kinds);
  return z
    .strictObject({
      ...runbookFields,
      preflight: z
        .array(step)
        .default([])
        .describe('read-only checks run on every host of the plan before anything changes'),
      phases: z
        .array(
          z.strictObject({
            ...phaseFields,
            steps: z.array(step).min(1).describe('the steps, in order, per host'),
          }),
        )
        .min(1)
        .describe('phases, in order'),
    })
    .meta({ title: 'cutover runbook', description: 'A rolling-upgrade runbook for cutover.' });
}
