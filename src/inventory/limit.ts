/**
 * `--limit HOSTS`, as Ansible's `--limit`: a comma- or colon-separated list of host names, roles and
 * globs (`web*`, `app-?`), each optionally `!`-prefixed to exclude. A host is in when it matches a
 * positive pattern (or there are only exclusions) and no exclusion. Pure. Example:
 * `limitHosts(hosts, 'web*,!web-3')` keeps web-1 and web-2.
 */
import type { Host } from './model.js';

/** A parsed `--limit`. Example: `parseLimit('app,!db-2')` -> `{ include: ['app'], exclude: ['db-2'] }`. */
export interface Limit {
  include: string[];
  exclude: string[];
  text: string;
}

export function parseLimit(text: string): Limit {
  const parts = text
    .split(/[,:]/)
    .map((p) => p.trim())
    .filter(Boolean);
  return {
    include: parts.filter((p) => !p.startsWith('!')),
    exclude: parts.filter((p) => p.startsWith('!')).map((p) => p.slice(1)),
    text,
  };
}

/** Whether one pattern names the host: its name or one of its roles, exactly or as a glob (`*`, `?`). */
export function patternMatches(pattern: string, host: Host): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(host.name) || host.roles.some((r) => re.test(r));
}

/** Whether the limit lets the host in. */
export function inLimit(limit: Limit, host: Host): boolean {
  if (limit.exclude.some((p) => patternMatches(p, host))) return false;
  return limit.include.length === 0 || limit.include.some((p) => patternMatches(p, host));
}

/** Patterns of the limit that name no host of the inventory (a typo, most likely). */
export function unmatchedPatterns(limit: Limit, hosts: readonly Host[]): string[] {
  return [...limit.include, ...limit.exclude].filter((p) => !hosts.some((h) => patternMatches(p, h)));
}
