import { describe, expect, it } from 'vitest';
import { compareVersions, looksLikeVersion } from './version.js';

describe('compareVersions', () => {
  it('compares 4-part versions numerically part by part, not as text', () => {
    expect(compareVersions('5.0.23654.0', '5.0.9999.12')).toBe(1);
    expect(compareVersions('5.0.9999.12', '5.0.23654.0')).toBe(-1);
    expect(compareVersions('5.0.23654.0', '5.0.23654.0')).toBe(0);
    expect(compareVersions('5.0.23654.10', '5.0.23654.9')).toBe(1);
  });

  it('treats missing parts as zero and handles any number of parts', () => {
    expect(compareVersions('5.0', '5.0.0.0')).toBe(0);
    expect(compareVersions('5.1', '5.0.99999.99999')).toBe(1);
    expect(compareVersions('1.2.3.4.5.6', '1.2.3.4.5.7')).toBe(-1);
  });

  it('is exact for parts beyond floating-point precision and ignores leading zeros', () => {
    expect(compareVersions('1.123456789012345678901', '1.123456789012345678902')).toBe(-1);
    expect(compareVersions('1.007', '1.7')).toBe(0);
  });

  it('sorts a list of versions', () => {
    const sorted = ['5.0.9999.12', '4.7.1.0', '5.0.23654.0', '5.0.100.1'].sort(compareVersions);
    expect(sorted).toEqual(['4.7.1.0', '5.0.100.1', '5.0.9999.12', '5.0.23654.0']);
  });
});

describe('looksLikeVersion', () => {
  it('needs at least two dotted numeric parts', () => {
    expect(looksLikeVersion('5.0.23654.0')).toBe(true);
    expect(looksLikeVersion('1.2')).toBe(true);
    expect(looksLikeVersion('5')).toBe(false);
    expect(looksLikeVersion('5.0-rc1')).toBe(false);
    expect(looksLikeVersion('v5.0')).toBe(false);
  });
});
