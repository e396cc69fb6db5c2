/**
 * Document placeholders -> runbook templates: `<instanceName>` becomes `{{ params.instanceName }}`
 * (and a declared param), `<today>`, `20170324` and `$(date +%F)` become
 * `{{ host.date('...') }}` (the host's date when the step runs, which is what the document meant).
 */

/** A param the draft declares for a placeholder. Example: `{ name: 'instanceName', placeholder: '<instanceName>', line: 37, type: 'string' }`. */
export interface ParamDraft {
  name: string;
  placeholder: string;
  /** First line of the document that uses it. */
  line: number;
  type: 'string' | 'version';
  description?: string;
}

/** A secret the draft declares (never with a value). Example: `{ name: 'teamcity_password', env: 'TEAMCITY_PASSWORD', line: 18 }`. */
export interface SecretDraft {
  name: string;
  env: string;
  line: number;
  description: string;
}

/** What a conversion did, so recognisers can say it. Example: `{ from: '<today>', to: "host.date('%Y-%m-%d')", guessed: true }`. */
export interface TemplateUse {
  from: string;
  to: string;
  /** True when the format is a guess the operator must check (`<today>`). */
  guessed: boolean;
}

const DATE_PLACEHOLDERS: Record<string, { format: string; guessed: boolean }> = {
  today: { format: '%Y-%m-%d', guessed: true },
  date: { format: '%Y-%m-%d', guessed: true },
  current_date: { format: '%Y-%m-%d', guessed: true },
  yyyymmdd: { format: '%Y%m%d', guessed: false },
  'yyyy-mm-dd': { format: '%Y-%m-%d', guessed: false },
  дата: { format: '%Y-%m-%d', guessed: true },
  日期: { format: '%Y-%m-%d', guessed: true },
};

const PLACEHOLDER = /<([^\s<>]+)>/g;
/** An 8-digit date 19xx/20xx with a valid month and day, not part of a longer number. */
const COMPACT_DATE = /(?<![0-9])(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?![0-9])/g;
const DATE_COMMAND =
  /\$\(\s*date\s+['"]?\+([%A-Za-z0-9_:.,+ -]*?)['"]?\s*\)|`\s*date\s+['"]?\+([%A-Za-z0-9_:.,+ -]*?)['"]?\s*`/g;

/** A param name for a placeholder: letters, digits and _. Example: `path/to/shared/folder` -> `path_to_shared_folder`. */
export function paramNameOf(placeholder: string): string {
  const name = placeholder
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
  if (name === '') return 'value';
  return /^[0-9]/.test(name) ? `p_${name}` : name;
}

/**
 * Turns document text into template text and collects the params it needs. One per import.
 * Example: `new Templater().template('/var/log/<instanceName>/x_<today>.log', 71)`
 * -> `/var/log/{{ params.instanceName }}/x_{{ host.date('%Y-%m-%d') }}.log`.
 */
export class Templater {
  readonly params = new Map<string, ParamDraft>();
  readonly secrets = new Map<string, SecretDraft>();

  template(text: string, line: number, uses: TemplateUse[] = []): string {
    // A literal `{{` would start a template: keep it literal.
    let out = text.replace(/\{\{/g, "{{ '{{' }}");
    out = out.replace(DATE_COMMAND, (whole, a: string | undefined, b: string | undefined) => {
      const format = a ?? b ?? '';
      const to = `host.date('${format}')`;
      uses.push({ from: whole, to, guessed: false });
      return `{{ ${to} }}`;
    });
    out = out.replace(PLACEHOLDER, (whole, inner: string) => {
      const date = DATE_PLACEHOLDERS[inner.toLowerCase()];
      if (date) {
        const to = `host.date('${date.format}')`;
        uses.push({ from: whole, to, guessed: date.guessed });
        return `{{ ${to} }}`;
      }
      const name = this.param(inner, line);
      uses.push({ from: whole, to: `params.${name}`, guessed: false });
      return `{{ params.${name} }}`;
    });
    out = out.replace(COMPACT_DATE, (whole) => {
      const to = "host.date('%Y%m%d')";
      uses.push({ from: whole, to, guessed: false });
      return `{{ ${to} }}`;
    });
    return out;
  }

  /** Declares (once) the param for a placeholder and returns its name. Example: `param('instanceName', 37)` -> `instanceName`. */
  param(placeholder: string, line: number, description?: string): string {
    const name = paramNameOf(placeholder);
    if (!this.params.has(name)) {
      this.params.set(name, {
        name,
        placeholder: `<${placeholder}>`,
        line,
        type: /^version$/i.test(name) ? 'version' : 'string',
        ...(description !== undefined ? { description } : {}),
      });
    }
    return name;
  }

  /** Declares (once) a secret read from `$ENV` or a prompt; returns its name. Example: `secret('teamcity', 18, '...')` -> `teamcity_password`. */
  secret(base: string, line: number, description: string): string {
    const name = `${paramNameOf(base).toLowerCase()}_password`;
    if (!this.secrets.has(name)) {
      this.secrets.set(name, { name, env: name.toUpperCase(), line, description });
    }
    return name;
  }
}

/** True when a text holds a document placeholder. Example: `kill -9 <PID>` -> true. */
export function hasPlaceholder(text: string): boolean {
  return /<[^\s<>]+>/.test(text);
}
