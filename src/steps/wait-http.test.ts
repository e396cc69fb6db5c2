import { describe, expect, it } from 'vitest';
import { testContext } from './test-support.js';
import { waitHttp } from './wait-http.js';

const ctx = testContext();

describe('wait.http', () => {
  it('polls with GET from the controller', () => {
    const p = waitHttp.params.parse({ url: 'http://10.0.0.12:8080/login', body: 'Sign in' });
    expect(waitHttp.plan(p, ctx).actions).toEqual([
      {
        type: 'wait',
        condition: {
          kind: 'http',
          request: { url: 'http://10.0.0.12:8080/login', method: 'GET', headers: {}, insecure: false },
          expectStatus: [200],
          bodyPattern: 'Sign in',
        },
      },
    ]);
    expect(waitHttp.readOnly).toBe(true);
    expect(() => waitHttp.params.parse({ url: '10.0.0.12:8080' })).toThrow(/http:\/\/ or https:\/\//);
    expect(() => waitHttp.params.parse({ url: 'http://x/', status: [99] })).toThrow();
  });
});
