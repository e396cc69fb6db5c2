import { describe, expect, it } from 'vitest';
import type { Host } from './model.js';
import { inLimit, parseLimit, unmatchedPatterns } from './limit.js';

const host = (name: string, roles: string[]): Host => ({
  name,
  address: '10.0.0.1',
  roles,
  vars: {},
  sshOptions: {},
  transport: 'ssh',
});
const HOSTS = [host('web-1', ['web']), host('web-2', ['web']), host('web-3', ['web']), host('db-1', ['db'])];
const names = (text: string) => HOSTS.filter((h) => inLimit(parseLimit(text), h)).map((h) => h.name);

describe('--limit', () => {
  it('takes names, roles, globs and !exclusions, comma- or colon-separated', () => {
    expect(names('db-1')).toEqual(['db-1']);
    expect(names('web')).toEqual(['web-1', 'web-2', 'web-3']);
    expect(names('web-*,!web-3')).toEqual(['web-1', 'web-2']);
    expect(names('!db')).toEqual(['web-1', 'web-2', 'web-3']);
    expect(names('web-?:db-1')).toEqual(['web-1', 'web-2', 'web-3', 'db-1']);
    expect(names('web.1')).toEqual([]); // a dot is a dot, not any character
  });
  it('says which patterns name no host', () => {
    expect(unmatchedPatterns(parseLimit('web,!dbb,cache*'), HOSTS)).toEqual(['cache*', 'dbb']);
  });
});
