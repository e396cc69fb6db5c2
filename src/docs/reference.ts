/**
 * `cutover docs`: the reference of the runbook and inventory formats, rendered from the same
 * zod schemas the loader checks with (descriptions, defaults, required keys), every registered
 * step kind with its params, and the expression language.
 */
import { DOWN_AFTER, GUARD_INTERVAL_MS } from '../engine/guard.js';
import type { z } from 'zod';
import { ANSIBLE_VARIABLES } from '../inventory/ansible/host.js';
import { MAX_HOSTS } from '../inventory/ansible/range.js';
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
| \`host.name\`, \`host.address\`, \`host.port\`, \`host.user\` | the host the step runs on (port and user as the inventory sets them: null when ssh's config decides) |
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

const FAULTS = `What a run does when something goes wrong, and what it promises:

- **A host stays healthy, or the run fails.** Every host a run upgraded in a phase with a health check
  (\`drain.health\`) is probed again every ${GUARD_INTERVAL_MS / 1000}s until the run ends; ${DOWN_AFTER} failed probes in a row
  mark it down (\`host.unhealthy\`): nothing new starts, hosts in flight finish, and the run fails with
  "HOST went down after its upgrade". A run is reported succeeded only after a final check of those hosts.
- **A wait watches what it waits for.** \`watch: { unit: NAME }\` or \`watch: { process: PATTERN }\` on
  \`wait.log\`/\`wait.http\` ends the wait at once when the unit fails or stops, or the process is gone; a wait
  after \`service.start\`/\`service.restart\` watches that unit by itself (the plan says "watching unit …").
  A watched \`wait.log\` checks its watch at least every second (the host follows the log between checks).
- **An unreachable host never hangs the run.** A host whose shell died is reconnected after 1, 2, 4 and 8 s;
  still down, it is unreachable (\`host.unreachable\`): its remaining undos are journaled "not run" (never
  tried into a timeout), its traffic stays where the drain put it, and the run ends saying "NOT put back" and
  why. "Put back" is said only when every undo of the host ran and succeeded.
- **Resume finishes putting a host back first.** A host with undos that did not run or failed is put back
  before anything runs forward on it; then its phase runs again from its first step (a step done before that
  undo counts as not done). A step interrupted by a controller crash is re-probed; read-only steps
  (\`shell.run\` with \`readonly: true\`, GET requests, waits) and edits (\`yaml.edit\`, \`nginx.route\`, \`text.edit\`,
  which edits the original it kept again, so a \`sed\`-style replacement happens once; the drain) are run again
  without asking; every step nothing can decide is listed at once, before anything runs,
  with its \`--rerun\`/\`--mark-done\` flags. A drain is never marked done (it is routed again).
- **A backup is never overwritten.** \`backup.copy\` redoes only its own unfinished copy; a backup it finished
  is used as it is when the source has the same tree, and refused when the source changed since.
- **Rollback is as gentle as the upgrade.** \`cutover rollback RUN\` undoes host by host, the last upgraded
  first; a host whose phase has a drain is drained first (a healthy neighbour, the budget) and gets its
  traffic back only once it answers its health check.
- **nginx reloads are in effect before a step ends.** After \`nginx -s reload\` (or your \`reload\`), cutover waits
  until the old workers stop taking connections.
- **The lock lives on the hosts.** Before preflight, a run takes \`/var/tmp/cutover.lock\` on every host of its
  plan (an atomic \`mkdir\`; its \`holder\` file says run, operator@controller, pid, since and lease until), in one
  fixed order (by address) and all or nothing: a run that meets a host held by another gives back what it took
  and exits 3 naming the host and the holder. So two operators with two state folders, or two laptops, or two
  inventories that overlap on one host, never run at once. The lease is renewed while the run lives (every
  30 s), given back when it ends on every path, and taken over by \`resume\`/\`rollback\` of the same run (after
  a \`kill -9\` the hosts stay locked until then). \`cutover unlock -i INVENTORY\` lists each host's holder;
  with \`--force\` it breaks them, but never the lock of a run still alive on this machine. Hosts with become
  take the lock through sudo. A \`transport: local\` host (the controller itself) is covered only by the state
  folder's own lease (\`.cutover/locks/\`), which also stops two runs of one folder before they connect.
- **A run stands on its own.** \`apply\` journals the runbook and inventory text, the inventory as read, the
  params, \`--limit\`, \`--only\`/\`--from\` and the sha256 of every uploaded file, and keeps a copy of each upload in the run folder
  (\`<state>/runs/RUN/files/<sha256>\`; uploads read that copy) and the plan as \`plan.json\` (secrets as
  \`<secret:name>\`, never a value). \`resume\` and \`rollback\` rebuild the plan from the journal alone, checked
  against its hash, whatever happened to the files since (secrets are asked for again from env, file or prompt).
- **An edited runbook is shown, never followed silently.** \`resume RUN\` after the runbook, inventory or an
  uploaded file changed lists what changed per phase and host (\`+\` added, \`-\` removed, \`~\` edited, and which
  of those steps were done) and stops (exit 5). \`resume RUN --replan\` runs the steps not done yet as the files
  now say; a done step (or one with an undo pending) stays as journaled, and so does its undo; the change is
  journaled (\`run.replanned\`). \`rollback\` always undoes the run as journaled. Runs journaled before cutover kept
  its inputs resume and roll back from the files they name, as before (no \`--replan\`).`;

const COMMAND_LINE = `Flags operators bring from Ansible and Kamal, and what they do here:

- \`cutover plan\` prints the plan to read in a minute: phases, host order, a step × host table (\`·\`: not on
  that host) and one line of intent per step (what it changes, its probe and its undo, in words).
  \`cutover plan -v\` prints every exact command per host, probe and undo (secrets redacted); \`--json plan\` the
  data. \`apply --show-plan\` prints the same summary (with \`-v\` the commands).
- \`-v\` repeats. \`-v\`: commands in full (the plan's exact commands per host; the progress log's commands uncut).
  \`-vv\`: also every command cutover runs on every host, the ones the progress view never shows included (probes of
  \`plan --probe\` and \`resume\`, log marks, wait polls, guards, the lock), each with its exit code, time and output,
  as \`trace HOST: …\` lines on stderr (secrets redacted); on a terminal, commands and their output also stay on screen.
  \`-vvv\`: also OpenSSH's own \`-v\` of each host's master and sessions, as \`ssh HOST: debug1: …\` lines on stderr
  (a session's debug goes through its own log file, never into a command's output). stdout stays the run's view or
  its JSON.
- \`--limit HOSTS\` (\`-l\`, on \`plan\` and \`apply\`): only these hosts, as names, roles or globs (\`web*\`, \`app-?\`),
  comma- or colon-separated; \`!name\` leaves one out (\`--limit "app,!app-3"\`). A phase with none of them is left
  out; a drained host's neighbours stay in the plan (connected, locked, preflighted) to carry its traffic. A
  pattern that names no host or role is refused (exit 2). The limit is journaled: resume keeps it.
- \`--only STEP…\` / \`--from STEP\` (on \`plan\` to preview, and \`apply\`): run some runbook steps only. A STEP is
  \`phase/step\`, a step id alone when one phase has it, or \`phase/*\` (or a phase id) for a whole phase; \`--only\`
  repeats or takes a comma list; \`--from\` keeps that step and every step after it, later phases included. Preflight
  always runs, and a host with any chosen step is drained around them as usual. Refused (exit 2, at the step's
  file:line:col, naming the step it needs and the hosts): a \`wait.log\` whose \`since\` step is left out (explicit, or
  the acting step before it); a step with no undo of its own (\`archive.extract\`, \`shell.run\` without \`undo:\`) when a
  \`backup.copy\` before it on that host (of a path it writes, or of anything when cutover cannot tell) is left out;
  the drain named as a step; a name that names nothing (the steps are listed). The selection is journaled with
  the run: resume and rollback keep it.
- \`-p @params.yml\`: a YAML map of params; \`-p\` repeats and merges in order, a later value wins
  (\`-p @prod.yml -p version=5.0.24120.0\`). Lists and maps are refused.
- \`status\`, \`report\`, \`resume\` and \`rollback\` without a run id take the latest run of the state folder and
  say which on stderr. \`report\` without \`--html\` prints a text summary (per host: steps done, the failure).
- \`--json validate\` (and any command refused for invalid input under \`--json\`) prints each problem as a JSON
  object on stdout, then \`{"valid": false, "exitCode": 2, "error": …, "hint": …}\`; a valid runbook prints
  \`{"valid": true, "message": …}\`.
- \`resume RUN --replan\`: see "Faults, resume and rollback".
- \`cutover completion bash|zsh|fish\` prints a completion script (\`source <(cutover completion bash)\`; zsh the same,
  or save it as \`_cutover\` in \`$fpath\`; fish: save it in \`~/.config/fish/completions/cutover.fish\`). It completes
  commands, options, run ids (the state folder, \`--state-dir\` on the line respected), runbook steps for
  \`--only\`/\`--from\` (the \`-r\` runbook on the line, else the latest run's plan), plan step ids for
  \`--rerun\`/\`--mark-done\` (the run on the line, else the latest), and host names and roles for \`--limit\` (the \`-i\`
  inventory on the line, cutover YAML, else the latest run's plan); file options complete paths. The scripts call
  \`cutover __complete -- WORD…\`, which prints one candidate a line and never fails.`;

const ANSIBLE = `### Ansible inventories

Read as Ansible reads them, detected by content. \`-i\` repeats: several sources are merged in order
(hosts and groups combine, a later source's values win). A folder as \`-i\` reads every inventory file in
it, sorted, recursing, skipping what Ansible skips (hidden files, \`group_vars\`, \`host_vars\`,
\`vars_plugins\`, and the extensions ~ .orig .ini .cfg .retry .pyc .pyo .swp .bak .rpm .md .txt .rst;
a skipped \`.ini\` is a warning). Inventory scripts are refused: save their output as YAML.

- INI: \`[group]\` host lines (\`web ansible_host=10.0.0.10 key=value\`; \`web1:2222\` sets the port),
  \`[group:vars]\` (one key=value per line), \`[group:children]\`, lines before any section are
  \`ungrouped\`. A \`:vars\`/\`:children\` section for a group the file never declares is an error.
  Comments: a line starting with \`#\` or \`;\`, or \` #\` / \` ;\` after a word (Ansible also ends a host line
  at a \`#\` inside a word: cutover does too, with a warning; in \`:vars\` values Ansible keeps \` # note\`
  as part of the value, cutover strips it — quote the value to keep it). Host-line values are typed
  like Python literals (\`2\` a number, \`"2"\` text); \`:vars\` values are text.
- Ranges: \`web[01:03]\`, \`db-[a:c]\`, \`n[1:9:2]\`, nested. A descending range, a zero-padded range
  whose ends differ in width, a step below 1, or more than ${MAX_HOSTS.toLocaleString('en')} hosts in the
  inventory is an error at its file:line:col (counted before anything is expanded).
- YAML: \`all: { hosts: { web: { ansible_host: ... } }, vars: {...}, children: { group: {...} } }\`.
- \`group_vars/\` and \`host_vars/\` next to each source (its folder; a folder source: itself): for a
  group or host \`NAME\`, the first of \`NAME\`, \`NAME.yml\`, \`NAME.yaml\`, \`NAME.json\`; a folder
  \`NAME/\` gives every file in it, sorted (none/.yml/.yaml/.json; hidden and \`~\` skipped).
- Precedence, lowest first (Ansible's): \`all\` in inventory files < other groups in inventory files
  (by depth from \`all\`, then \`ansible_group_priority\`, then name) < \`group_vars/all\` <
  \`group_vars/<group>\` (same group order; sources in \`-i\` order) < the host's own inventory vars <
  \`host_vars/<host>\`. A later value replaces a variable as a whole.
- A host's roles are the groups it is in (directly or through \`children\`), in file order.
- ansible-vault: a \`!vault\` value in a connection variable is an error at its file:line:col; in another
  variable it is left out of \`host.vars\` with a warning (never the ciphertext); a vault-encrypted vars
  file is a warning. The way out: declare the value as a cutover secret (env, file or prompt).
- Connection variables, one by one (anything else named \`ansible_*\` is a warning naming the variable
  and the hosts, never dropped in silence; other variables become \`host.vars\`; Jinja \`{{ }}\` in a
  connection variable is an error — cutover does not evaluate Jinja; a value beginning with \`-\` for an
  address or user is an error):

| variable | what cutover does |
|---|---|
${Object.entries(ANSIBLE_VARIABLES)
  .map(
    ([k, v]) =>
      `| ${k
        .split(', ')
        .map((n) => `\`${n}\``)
        .join(', ')} | ${v} |`,
  )
  .join('\n')}

Two hosts with the same address and port (inventory values) are an error: one machine under two
names would be upgraded and drained twice. With different ProxyJump/ProxyCommand it is a warning (two
machines behind two bastions can share a private address).`;

const BECOME = `### Privilege: become (sudo)

Most sites refuse root logins: log in as yourself and let cutover use sudo.

- \`become: true\` (inventory \`defaults\` or a host; Ansible's \`ansible_become=true\`) runs the host's steps
  through sudo, as \`become_user\` (default root; Ansible's \`ansible_become_user\`). A phase or a step
  overrides it: \`become: false\` runs as the login user, \`become_user: postgres\` as another user
  (setting \`become_user\` turns become on at that level). The step's setting wins, then the phase's,
  then the host's.
- One sudo per host and user per run: the long-lived shell itself runs under sudo, so a step costs what
  it costs without become. All sessions are opened, and sudo checked, before anything changes.
- The password: \`-K\`/\`--ask-become-pass\` asks once, \`--become-password-file FILE\` reads a file,
  \`CUTOVER_BECOME_PASSWORD\` the environment. It reaches sudo on stdin only when sudo asks for it
  (never argv, never the journal, redacted everywhere). Hosts with NOPASSWD need none. A password in
  an inventory (\`ansible_become_password\`) is refused.
- Refusals name the host and the fix: no password given, a wrong one, \`requiretty\`, a login not in
  sudoers, an unknown become user.
- The working folder on each host belongs to the user that writes it: \`/var/tmp/cutover/RUN\` for
  root, \`/var/tmp/cutover-USER/RUN\` for any other user. One left by another user (or not writable) is
  refused before anything changes, with its owner named.
- Try it: \`cutover lab up --scenario comindware --sudo-login web\` (root refused on port 22, \`deploy\`
  with sudo, NOPASSWD on web only), then \`examples/comindware/inventory.become.lab.yml\`.
`;

const TRAFFIC = `Traffic: a phase takes each host out of rotation one way, chosen per phase; all share the drain
budget (\`max_drained\`, a place in the rolling window), the rule that traffic goes back only after the
host's undos (and its health check, when one is set), and resume and rollback.

- **\`drain:\` the host's own nginx** (seed 000): its \`locations\` are re-pointed to a healthy neighbour,
  \`nginx -t\`, reload; restored byte-identical after the host's steps.
- **\`balancer:\` load balancers in front** (\`hosts:\` selects them; all are updated, e.g. an HA pair). They
  are connected and locked with the run, never upgraded, and get no runbook preflight. The host's drain
  step runs its commands on each balancer (\`plan -v\` shows \`on lb:\` before each).
  - \`haproxy:\` the runtime API over the admin socket (\`stats socket ... level admin\`, read with \`socat\`):
    preflight checks the socket answers and the backend has the server; the drain needs another server
    of the backend UP, sets \`state drain\`, waits until its current sessions are 0, then \`state maint\`;
    the undo sets \`state ready\` and waits until \`show stat\` says UP (a server found out of rotation
    before the run stays as it was).
  - \`nginx:\` an nginx balancer: the host's \`server\` line in the \`upstream\` block is marked \`down\`, \`nginx -t\`,
    reload, then cutover waits until the old workers have answered their requests and exited; the undo
    takes exactly that mark away again (hosts draining at once share the file; edits of one file are
    serialised), \`nginx -t\`, reload. \`server\` is written as in the file, e.g. \`"{{ host.name }}:8080"\`.
  - \`commands:\` anything else (a cloud LB CLI, F5, keepalived weights): \`drain\`, \`drained\` (polled
    until it exits 0), \`undrain\`, optional \`ready\` (polled), templates over \`host\`.

\`\`\`yaml
balancer:
  hosts: { roles: [lb] }
  haproxy: { socket: /run/haproxy/admin.sock, backend: "{{ host.vars.service }}" }  # server: default host.name
  max_drained: 4
  skip_when: "not params.behind_balancer"
\`\`\`

Try it: \`cutover lab up --scenario ecsc --balancer\` (HAProxy on \`lb\`, ports 8081-8084; nginx on \`lb-nginx\`,
ports 8091-8094), then \`examples/ecsc/runbook.yml\` with \`-p behind_balancer=true\`.`;

const SSH_CONFIG = `### SSH settings: what the inventory says, else your ssh config

cutover connects with the system OpenSSH client and passes only what the inventory sets: \`port\` as
\`-p\`, \`user\` as \`-l\`, \`ssh_options\` (or Ansible's key and ssh args) as \`-o\`. Everything else is
ssh's to decide, exactly as \`ssh HOST\` by hand would:

1. the inventory (\`-p\`, \`-l\`, \`-o\`: ssh's command line wins);
2. the ssh config: \`--ssh-config FILE\` (global option) or \`$CUTOVER_SSH_CONFIG\` (passed as \`ssh -F\`;
   then neither \`~/.ssh/config\` nor \`/etc/ssh/ssh_config\` is read), else \`~/.ssh/config\` then
   \`/etc/ssh/ssh_config\` — Host and Match blocks match the host's address (its name when no address
   is set), first value wins: HostName, User, Port, IdentityFile, ProxyJump, ...;
3. ssh's defaults (port 22, your login name).

\`cutover plan\` shows per host what ssh will use (\`ssh -G\`), and where it came from:
\`web -> deploy@10.0.0.10:2222 via bastion (user, port from ~/.ssh/config)\`. \`validate\`, \`plan\` and
\`apply\` stop (exit 2) on an ssh config ssh rejects (at its file:line) and on two hosts that reach the
same machine after it; a name that ssh would connect to directly and that does not resolve is a warning
in \`validate\`/\`plan\` and an error in \`apply\`, before anything connects.`;

const CONNECTIONS = `### Connections: bounded by the hosts in flight, not by the fleet

Each host gets one OpenSSH ControlMaster and one long-lived \`sh\` per user its steps run as. The master is
started with the host's first shell as its own session (one ssh client and one login per host); the other
sessions and the file copies go through its control socket, and it ends with the host's last session. How many:

- \`--connect-concurrency N\` (global option, or \`$CUTOVER_CONNECT_CONCURRENCY\`; default 10, 1-1000): connections
  being set up at once — at preflight, when a host's turn comes, when an undo or the lock needs a host again.
  10 is what a bastion's OpenSSH accepts by default (\`MaxStartups 10:30:100\` starts refusing unauthenticated
  connections at 10); raise it for a direct network and a controller with cores to spare (like Ansible's \`forks\`).
- \`--keep-open N\` (\`$CUTOVER_KEEP_OPEN\`; default 100, 0-100000): hosts not in flight that keep their connection.
  Preflight reaches every host (nothing changes anywhere before every host passed), then only the first N in the
  order of work keep their connections; the others log in again when their turn comes. A host whose work in the
  run is done — no later phase works on it, and it is no balancer of one — joins the N most recently finished ones,
  and the oldest beyond N is closed. 0 closes each host as soon as its work is done.

A closed connection is never an error: an undo, a resume, the lock or a balancer that needs the host again
reconnects to it. The health guard and a drain's neighbour checks are HTTP requests from the controller and need
no connection. The lock stays on every host until the run ends; it is renewed every 30 s on the hosts the run is
connected to, and given back at the end (reconnecting, N at a time, to hosts that were closed). Up to 100 hosts
nothing is closed before the end, so each host logs in once.`;

const SHARED_STATE = `### Shared state: one history for a team, in PostgreSQL

Without it, each controller keeps its runs in its state folder (\`--state-dir\`, default \`.cutover\`): nothing
needs a server. With it, every controller's runs, their events, uploaded files, cluster leases and gate decisions
are in one PostgreSQL database:

- \`--state postgres://user@host:5432/database\` (global option), else \`$CUTOVER_STATE_URL\`, else a line
  \`state: postgres://…\` in a \`cutover.config.yml\` found from the working folder up (its only setting). The
  password comes from \`PGPASSWORD\` or \`~/.pgpass\` as for psql; a password in the URL is never printed.
- \`cutover state migrate\`: applies the schema migrations the database lacks (everything lives in the schema
  \`cutover\`; safe to repeat and to run from two terminals at once). Every command checks the version first: an
  older schema asks for \`migrate\`, a newer one (a newer cutover migrated it) is refused; both exit 7 before
  anything runs, as does a database that cannot be reached at start.
- \`cutover state status\`: the schema version, how many runs, which clusters are leased now and by whom.
- \`cutover state push [RUN…]\`: sends runs of this state folder the database lacks (all by default): a run that
  ended while the database was away, or runs from before the team had one. Nothing is sent twice.

A run journals to its state folder first (fsync'd: the source of truth while it runs) and mirrors each event to
the database in transactions keyed by (run, seq): a retry never doubles an event, a gap shows. When the database
goes away mid-run the run goes on (the lock on the hosts keeps it safe), says so once, and catches up when it is
back; at the end it waits up to 15 s for the rest, then names \`cutover state push RUN\`. An event the database
holds in another version (a second controller wrote the same run) is said loudly and never overwritten.

- The cluster lease: a run takes its cluster in the database too (renewed every 20 s, free a minute after its
  controller stopped renewing), so a second controller cannot start or resume a run there meanwhile (exit 3,
  naming who holds it). \`cutover unlock --cluster NAME --force\` with \`--state\` breaks it.
- \`runs\`, \`status\`, \`report\` read the database: every controller's runs. \`cutover runs --host web --since 30d\`
  lists the runs that worked on a host (\`--since\`: \`90m\`, \`12h\`, \`30d\`, \`2w\` or a date) with how each ended
  there and its version params (params whose name contains \`version\`), then the versions the host went through.
- \`resume RUN\` / \`rollback RUN\` on another controller copy the run (events and uploaded files) into that
  controller's state folder first, then work as always; a local journal that differs from the database's is
  refused, never overwritten.
- \`serve\` shows every controller's runs, pushed by LISTEN/NOTIFY as their events are committed (no polling of
  the database). A gate approved or a run aborted there reaches the controller running it through the database;
  the journal records the name given on the page, the dashboard's machine and the browser's address
  (\`bob via dashboard on lead-pc (10.0.0.7)\`).`;

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
  add('## Traffic: drain and balancer', '', TRAFFIC, '');
  add('## Faults, resume and rollback', '', FAULTS, '');
  add('## Command line', '', COMMAND_LINE, '');
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
    SSH_CONFIG,
    '',
    CONNECTIONS,
    '',
    SHARED_STATE,
    '',
    BECOME,
    '',
    ANSIBLE,
    '',
  );
  return `${sections
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
