import { describe, expect, it } from 'vitest';
import { gateConfirm } from './gate-confirm.js';
import { testContext } from './test-support.js';

const ctx = testContext();

describe('gate.confirm', () => {
  it('asks the operator', () => {
    const p = gateConfirm.params.parse({ message: 'Log in at http://10.0.0.12/ and check the node works' });
    expect(gateConfirm.plan(p, ctx).actions).toEqual([
      { type: 'confirm', message: 'Log in at http://10.0.0.12/ and check the node works' },
    ]);
    expect(gateConfirm.readOnly).toBe(true);
    expect(() => gateConfirm.params.parse({ message: '' })).toThrow();
  });
});
