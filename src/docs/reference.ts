/**
 * `cutover docs`: the reference of the runbook and inventory formats, rendered from the same
 * zod schemas the loader checks with (descriptions, defaults, required keys), every registered
 * step kind with its params, and the expression language.
 */
import type { z } from 'zod';
import { inventoryHostSchema, inventorySchema } from '../inventory/schema.js';
import { ROOTS } from '../runbook/evaluator.js';
import {
  drainSchema,
  hostSelectorSchema,
  paramSpecSchema,
  phaseFields,
  rollingSchema,
  runbookFields,
  secretSpecSchema,
  stepFields,
  type StepKindRegistry,
} from '../runbook/schema.js';
import { stepKinds } from '../steps/index.js';
import { DATA_PROGRAMS } from '../shell/programs.js';
import { LIMITS_DOC } from '../source/limits.js';
import { toJsonSchema } from './jsonschema.js';

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  $ref?: string;
  minimum?: number;
  maximum?: number;
};

function typeName(s: JsonSchema): string {
  if (s.$ref) return s.$ref.split('/').pop() ?? 'object';
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const options = s.anyOf ?? s.oneOf;
  if (options) return [...new Set(options.map(typeName))].join(' or ');
  if (Array.isArray(s.type)) return s.type.join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeName(s.items) : 'values'}`;
  if (s.type === 'object') {
    if (!s.properties && s.additionalProperties && typeof s.additionalProperties === 'object')
      return `map of ${typeName(s.additionalProperties)}`;
    return 'map';
  }
  if (s.type === 'integer') return 'whole number';
  return s.type ?? 'any';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A Markdown table of an object schema's fields: key, type, default or required, description. */
function fieldTable(json: JsonSchema): string {
  const properties = json.properties ?? {};
  const required = new Set(json.required ?? []);
  const rows = Object.entries(properties).map(([key, field]) => {
    const presence = required.has(key)
      ? '**required**'
      : field.default !== undefined
        ? `default \`${JSON.stringify(field.default)}\``
        : 'optional';
    return `| \`${key}\` | ${cell(typeName(field))} | ${presence} | ${cell(field.description ?? '')} |`;
  });
  if (rows.length === 0) return '_(no params)_\n';
  return ['| key | type | | description |', '|---|---|---|---|', ...rows, ''].join('\n');
}

function objectTable(fields: Record<string, z.ZodType>): string {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, schema] of Object.entries(fields)) {
    properties[key] = toJsonSchema(schema) as JsonSchema;
    if (!schema.safeParse(undefined).success) required.push(key);
  }
  return fieldTable({ properties, required });
}

function schemaTable(schema: z.ZodType): string {
  return fieldTable(toJsonSchema(schema) as JsonSchema);
}

const EXAMPLE = `\`\`\`yaml
$schema: ../../schema/runbook.schema.json
name: comindware-upgrade
params:
  instance: { type: string, pattern: '[A-Za-z0-9_-]+', default: cmw }
  version: { type: version, required: true }
secrets:
  distr_password: { from: [{ env: CMW_DISTR_PASSWORD }, { file: ~/.cmw-pass }, { prompt: true }] }
vars:
  log_dir: "/var/log/comindware/{{ params.instance }}"
preflight:
  - wait.http: { url: "http://{{ host.address }}/" }
phases:
  - id: upgrade
    name: Upgrade node by node
    hosts: { roles: [backup, integration, web] }
    rolling: { serial: 1 }
    steps:
      - name: Stop the API gateway
        service.stop: { unit: "apigateway{{ params.instance }}" }
        when: "params.version >= '5.0.23654.0' and 'web' in host.roles"
        timeout: 2m
\`\`\``;

const EXPRESSIONS = `Templates: \`{{ expr }}\` inside any string of step params, vars and drain settings.
Conditions: \`when\` (steps), \`hosts.where\`, \`drain.skip_when\`, \`rolling.group_by\` are bare expressions.

| name | value |
|---|---|
| \`params.NAME\` | a param (\`-p NAME=value\`), typed by its declaration |
| \`vars.NAME\` | a var, itself a template (may use params, host and other vars) |
| \`secrets.NAME\` | a secret; templates only, redacted in every output |
| \`host.name\`, \`host.address\`, \`host.port\`, \`host.user\` | the host the step runs on |
| \`host.roles\` | its roles (a list; in a template, joined with commas) |
| \`host.vars.NAME\` | an inventory var of the host |
| \`host.date('%Y%m%d')\` | the host's date in a strftime format, evaluated by the host's shell when the command runs; templates only |
| \`neighbour.*\` | the neighbour taking the traffic; only in \`drain.upstream\` and \`drain.health.url\` |
| \`run.id\` | the run id, once a run has started |

Roots: ${[...ROOTS].map((r) => `\`${r}\``).join(', ')}.

Literals: \`'text'\` or \`"text"\`, numbers (\`3\`), dotted versions (\`5.0.23654.0\`, \`5.10\`: after \`5.9\`, and against a number it orders as that number), \`true\`, \`false\`, lists (\`['web', 'db']\`).

Operators, loosest first: \`or\`; \`and\`; \`not\`; comparisons \`==\`, \`!=\`, \`<\`, \`<=\`, \`>\`, \`>=\`, \`in\`, \`not in\`; parentheses group.

- Two dotted versions (\`5.0.23654.0\` and \`5.0.9999.12\`, any number of parts) compare part by part as numbers, so \`5.0.23654.0 > 5.0.9999.12\`.
- Numbers (or texts that are numbers) compare as numbers; anything else compares as text.
- \`x in list\` is membership, \`x in 'text'\` is a substring test, \`'k' in host.vars\` tests that a var exists.
- In a script (\`shell.run\` \`command:\`), every \`{{ }}\` value is quoted for where it lands (a word of its own, inside '…', inside "…"): a param \`x; touch /tmp/pwned\` stays harmless text. A value in a comment, inside backticks or after a here-document (\`<<\`) is refused.
- A literal \`{{\` in a template: \`{{ '{{' }}\`.`;

const SCRIPTS = `A \`{{ }}\` value in a script (\`shell.run\` command/unless/undo, \`process.start\` command,
nginx validate/reload) is quoted for where it lands, and it may only land where cutover knows it
stays data. The rule is decided from the safe side:

- allowed: an argument of a program known to keep its arguments data (${[...DATA_PROGRAMS].join(', ')};
  \`printf\` only after a format you wrote), also through \`nohup\`, \`timeout N\`, \`nice\`, \`env X=1\`,
  \`sudo -u USER\`, \`command\`, \`exec\`; an assignment (\`NAME={{ params.x }} prog "$NAME"\`); a redirection
  target (\`> {{ params.file }}\`); a positional argument after a shell's or interpreter's script
  (\`sh -c 'echo "$1"' _ {{ params.x }}\`, \`bash up.sh {{ params.x }}\`, \`python3 tool.py {{ params.x }}\`);
  part of a program name when you wrote its prefix or last path segment (\`{{ params.home }}/bin/startup.sh\`);
- refused: the script of \`sh -c\`, \`bash -lc\`, \`python3 -c\`, \`perl -e\`, \`node -e\`; any argument of a program
  that may re-parse it (\`eval\`, \`ssh\`, \`su\`, \`runuser\`, \`sudo -s\`, \`env -S\`, \`flock -c\`, \`watch\`, \`xargs\`,
  \`find -exec\`, \`chroot\`, \`script -c\`, \`tmux\`, \`screen\`, awk, sed, …) or of any program not on the list; a pipe
  or \`<<<\` that carries a value into a program not known to read stdin as data (\`| sh\`, \`| python3\`, \`| mysql\`);
  \`tar -I\`, \`rsync -e\` and other options whose value is a command; comments, backticks, \`$(( ))\`, \`[[ ]]\`,
  \`\${…}\`, \`$'…'\` and here-documents;
- a value that begins with \`-\` where it is a word of its own is refused unless \`--\` comes before it;
- a \`{{ secrets.x }}\` may not be in a command's argv (every user of the host sees the process list): pass it on
  stdin (\`printf '%s' {{ secrets.x }} | prog --password-stdin\`, \`<<<\`), in the environment (\`shell.run\` env:,
  \`NAME={{ secrets.x }} prog\`), or in a mode 600 file the step removes.

Ways out of a refusal: pass the value through the environment or as \`"$1"\`; or, for a program you know
never runs its arguments or stdin as code, list it in the runbook: \`safe_programs: [mytool]\`.
\`validate\` with \`-i\` and \`-p\` renders every script as \`plan\` does, so it reports every refusal.`;

const ANSIBLE = `Ansible inventories are read as they are, detected by content:

- INI: \`[group]\` host lines (\`web ansible_host=10.0.0.10 ansible_port=22 ansible_user=root key=value\`),
  \`[group:vars]\`, \`[group:children]\`, \`[all:vars]\`, ranges like \`web[01:03]\`.
- YAML: \`all: { hosts: { web: { ansible_host: ... } }, vars: {...}, children: { group: {...} } }\`.
- A host's roles are the groups it is in (directly or through \`children\`), in file order.
- \`ansible_host\`, \`ansible_port\`, \`ansible_user\`, \`ansible_ssh_private_key_file\` (IdentityFile),
  \`-o Option=value\` in \`ansible_ssh_common_args\`, \`ansible_connection=local\` set the connection; other
  \`ansible_*\` vars are dropped, the rest become \`host.vars\` (host over group over \`all\`).`;

/**
 * The whole reference as Markdown. Example: `process.stdout.write(docsMarkdown())`.
 * `kinds` defaults to the registry in src/steps/index.ts.
 */
export function docsMarkdown(kinds: StepKindRegistry = stepKinds): string {
  const sections: string[] = [];
  const add = (...lines: string[]) => sections.push(lines.join('\n'));
  add(
    '# cutover reference',
    '',
    'A runbook is a YAML file; `$schema: schema/runbook.schema.json` gives editors completion and checks.',
    '',
    EXAMPLE,
    '',
  );
  add(
    '## Runbook',
    '',
    objectTable({ ...runbookFields }),
    '',
    '`preflight` is a list of steps of read-only kinds, run on every host of the plan before anything changes; `phases` is a list of phases, run in order.',
    '',
  );
  add(
    '## Params',
    '',
    'Declared under `params:`, given with `-p name=value` at plan time; checked before anything runs. An optional string without a default is empty, an optional boolean false.',
    '',
    schemaTable(paramSpecSchema),
  );
  add(
    '## Secrets',
    '',
    'Declared under `secrets:`; read at plan time from the first source that has a value (`{ env: NAME }`, `{ file: PATH }`, `{ prompt: true }`); never written anywhere, redacted in all output; at least 3 characters.',
    '',
    schemaTable(secretSpecSchema),
  );
  add(
    '## Vars',
    '',
    'Named templates under `vars:`, e.g. `log_dir: "/var/log/comindware/{{ params.instance }}"`, used as `{{ vars.log_dir }}`.',
    '',
  );
  add(
    '## Phases',
    '',
    objectTable({ ...phaseFields, steps: stepFields.name }).replace(
      /\| `steps` \|[^\n]*/,
      '| `steps` | list of steps | **required** | the steps, in order, run on each host |',
    ),
  );
  add(
    '### hosts',
    '',
    hostSelectorSchema.description ?? '',
    '',
    schemaTable(hostSelectorSchema.options[2]),
    'Role order is run order; within a role, inventory order; a host is never selected twice.',
    '',
  );
  add('### rolling', '', rollingSchema.description ?? '', '', schemaTable(rollingSchema));
  add('### drain', '', drainSchema.description ?? '', '', schemaTable(drainSchema));
  add(
    '## Steps',
    '',
    "A step is a map with exactly one step-kind key (its value holds the kind's params) and these common fields:",
    '',
    objectTable(stepFields),
  );
  add('## Step kinds', '');
  const sorted = [...kinds.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (sorted.length === 0) add('_(no step kinds are registered)_', '');
  for (const kind of sorted) {
    add(
      `### \`${kind.name}\``,
      '',
      `${kind.summary}${kind.readOnly ? ' (read-only: allowed in preflight)' : ''}`,
      '',
      schemaTable(kind.params as z.ZodType),
    );
  }
  add('## Templates and expressions', '', EXPRESSIONS, '');
  add('## Values in scripts', '', SCRIPTS, '');
  add(
    '## Limits',
    '',
    'Input past a limit is refused with exit 2 at its file:line:col; nothing is changed anywhere.',
    '',
    ...LIMITS_DOC.map((l) => `- ${l}`),
    '',
  );
  add(
    '## Inventory',
    '',
    "cutover's own format (`$schema: schema/inventory.schema.json`):",
    '',
    schemaTable(inventorySchema),
    '### hosts.NAME',
    '',
    schemaTable(inventoryHostSchema),
    ANSIBLE,
    '',
  );
  return `${sections
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
