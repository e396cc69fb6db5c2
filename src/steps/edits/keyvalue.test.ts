import { describe, expect, it } from 'vitest';
import type { KeyValueFormat } from '../kind.js';
import { setKeyValue } from './keyvalue.js';

const set = (text: string, format: KeyValueFormat, key: string, value: string, section?: string) =>
  setKeyValue(text, { op: 'set', format, key, value, ...(section !== undefined ? { section } : {}) });

const properties = [
  '# Shop settings',
  '! legacy comment',
  'server.port = 8080',
  '#checkout.v2.enabled=true',
  'checkout.v2.enabled:false',
  'db.url=jdbc:postgresql://db:5432/shop',
  '',
].join('\n');

describe('setKeyValue in .properties', () => {
  it('changes only the value, keeping separators, comments and order', () => {
    expect(set(properties, 'properties', 'server.port', '8081')).toBe(
      properties.replace('server.port = 8080', 'server.port = 8081'),
    );
    // The commented-out line is not the key.
    expect(set(properties, 'properties', 'checkout.v2.enabled', 'true')).toBe(
      properties.replace('checkout.v2.enabled:false', 'checkout.v2.enabled:true'),
    );
    expect(set(properties, 'properties', 'server.port', '8080')).toBe(properties);
  });

  it('adds a missing key at the end with the separator before it, CRLF and no final newline kept', () => {
    expect(set(properties, 'properties', 'cache.ttl', '60')).toBe(`${properties}cache.ttl=60\n`);
    expect(set('a = 1\r\nb = 2', 'properties', 'c', '3')).toBe('a = 1\r\nb = 2\r\nc = 3');
    expect(set('', 'properties', 'a', '1')).toBe('a=1\n');
  });

  it('refuses duplicates, continued values and line breaks', () => {
    expect(() => set('a=1\nb=2\na=3\n', 'properties', 'a', '4')).toThrow(/written 2 times \(lines 1, 3\)/);
    expect(() => set('a=1, \\\n  2\n', 'properties', 'a', '4')).toThrow(/several lines/);
    // A continuation line is not a key of its own.
    expect(set('a=1, \\\n  b=2\n', 'properties', 'b', '9')).toBe('a=1, \\\n  b=2\nb=9\n');
    expect(() => set('a=1\n', 'properties', 'a', '1\n2')).toThrow(/line break/);
  });
});

describe('setKeyValue in .ini', () => {
  const ini =
    '; MySQL\r\n[client]\r\nport=3306\r\n\r\n[mysqld]\r\nport = 3306 ; default\r\nskip-name-resolve\r\n\r\n# end\r\n';
  it('sets a key in its section, keeping an inline comment', () => {
    expect(set(ini, 'ini', 'port', '3307', 'mysqld')).toBe(
      ini.replace('port = 3306 ; default', 'port = 3307 ; default'),
    );
    expect(set(ini, 'ini', 'port', '3307', 'client')).toBe(ini.replace('port=3306', 'port=3307'));
  });

  it('adds a key after the last entry of its section, and a missing section at the end', () => {
    expect(set(ini, 'ini', 'max_connections', '500', 'mysqld')).toBe(
      ini.replace('skip-name-resolve\r\n', 'skip-name-resolve\r\nmax_connections = 500\r\n'),
    );
    expect(set(ini, 'ini', 'user', 'backup', 'mysqldump')).toBe(`${ini}[mysqldump]\r\nuser=backup\r\n`);
    expect(set('[a]\nx=1', 'ini', 'y', '2', 'a')).toBe('[a]\nx=1\ny=2');
  });

  it('refuses a bare key and a global key it has nowhere to put', () => {
    expect(() => set(ini, 'ini', 'skip-name-resolve', '1', 'mysqld')).toThrow(/bare key/);
    expect(() => set(ini, 'ini', 'port', '1')).toThrow(/no key before its first \[section\]/);
    expect(set('top=1\n[s]\nx=1\n', 'ini', 'other', '2')).toBe('top=1\nother=2\n[s]\nx=1\n');
  });
});

describe('setKeyValue in .env', () => {
  const env = '# app\nexport APP_PORT=8080\nDB_URL="postgres://db/shop" # primary\nNAME=shop # x\n';
  it('keeps export, quotes and comments', () => {
    expect(set(env, 'env', 'APP_PORT', '8081')).toBe(env.replace('8080', '8081'));
    expect(set(env, 'env', 'DB_URL', 'postgres://db2/shop')).toBe(env.replace('db/shop', 'db2/shop'));
    expect(set(env, 'env', 'NAME', 'shop2')).toBe(env.replace('NAME=shop #', 'NAME=shop2 #'));
    expect(() => set(env, 'env', 'DB_URL', 'a"b')).toThrow(/quoted with "/);
    expect(set(env, 'env', 'NEW', 'x')).toBe(`${env}NEW=x\n`);
  });
});
