/**
 * cutover's own inventory format as zod schemas: the loader's checks, the JSON Schema
 * (`schema/inventory.schema.json`) and the docs. Ansible INI/YAML inventories are read too (see load.ts).
 */
import { z } from 'zod';

/** A host name; it appears in plan ids (`upgrade/stop@web`). Example: `ecsc-1`. */
export const HOST_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const sshOptions = z
  .record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, { error: 'expected an ssh option name such as IdentityFile' }),
    z.union([z.string(), z.number(), z.boolean()]).transform(String),
  )
  .describe(
    '`ssh -o` options, e.g. { IdentityFile: ./id_ed25519, ProxyJump: bastion }; relative IdentityFile/UserKnownHostsFile paths are relative to this file',
  );

const port = z.int().min(1).max(65535);
const notOption = (what: string) => ({
  error: `expected ${what}; a value beginning with "-" would be read by ssh as an option`,
});
const user = z.string().min(1).regex(/^[^-]/, notOption('a login name'));
const transport = z.enum(['ssh', 'local']).describe('`ssh` (default), or `local` for the controller itself');
const become = z
  .boolean()
  .describe('run the steps through sudo (one sudo per host per run); default false; see `cutover docs`');
const becomeUser = user.describe('the user sudo runs the steps as; default root. Setting it turns become on');

/** One host of a cutover inventory. Example: `{ address: 10.0.0.10, roles: [web] }`. */
export const inventoryHostSchema = z
  .strictObject({
    address: z
      .string()
      .min(1)
      .regex(/^[^-]/, notOption('an IP address or DNS name'))
      .optional()
      .describe('IP or DNS name; default: the host name'),
    port: port
      .optional()
      .describe('SSH port; default: defaults.port, else what ssh decides (~/.ssh/config, else 22)'),
    user: user
      .optional()
      .describe(
        'SSH user; default: defaults.user, else what ssh decides (~/.ssh/config, else your login name)',
      ),
    roles: z
      .array(z.string().min(1))
      .default([])
      .describe('roles, used by phases to select hosts (`hosts: { roles: [web] }`)'),
    vars: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('`{{ host.vars.x }}`; overrides the inventory-wide vars'),
    transport: transport.optional(),
    ssh_options: sshOptions.optional(),
    become: become.optional(),
    become_user: becomeUser.optional(),
  })
  .describe('A host.');

/** The whole cutover inventory file. Example: `{ cluster: lab, hosts: { web: { address: 10.0.0.10, roles: [web] } } }`. */
export const inventorySchema = z
  .strictObject({
    $schema: z.string().optional().describe('path or URL of inventory.schema.json, for editors'),
    cluster: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
        error: 'expected a cluster name of letters, digits, ., _ and -',
      })
      .optional()
      .describe(
        'a stable name; the lock and the journal are per cluster. Default: the file name without extension',
      ),
    defaults: z
      .strictObject({
        user: user.optional(),
        port: port.optional(),
        transport: transport.optional(),
        ssh_options: sshOptions.optional(),
        become: become.optional(),
        become_user: becomeUser.optional(),
      })
      .optional()
      .describe('connection settings for every host'),
    vars: z.record(z.string(), z.unknown()).default({}).describe('vars for every host'),
    hosts: z
      .record(
        z.string().regex(HOST_NAME_PATTERN, {
          error: 'expected a host name of letters, digits, ., _ and - (it appears in plan ids)',
        }),
        inventoryHostSchema.nullable(),
      )
      .refine((hosts) => Object.keys(hosts).length > 0, { error: 'expected at least one host' })
      .describe('hosts by name, in inventory order'),
  })
  .meta({ title: 'cutover inventory', description: 'Hosts of one cluster for cutover.' });
