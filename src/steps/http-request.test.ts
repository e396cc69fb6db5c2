import { describe, expect, it } from 'vitest';
import { Secret } from '../shell/secret.js';
import { TemplatedWord } from '../shell/word.js';
import { httpRequest } from './http-request.js';
import { isReadOnly } from './kind.js';
import { testContext } from './test-support.js';

const ctx = testContext();

describe('http.request', () => {
  it('sends GET by default, expecting 200-399, and is read-only then', () => {
    const p = httpRequest.params.parse({ url: 'http://10.0.0.12:8080/' });
    const [action] = httpRequest.plan(p, ctx).actions;
    expect(action).toMatchObject({
      type: 'http',
      request: { url: 'http://10.0.0.12:8080/', method: 'GET', headers: {}, insecure: false },
    });
    const expected = action?.type === 'http' ? action.expectStatus : [];
    expect([expected.length, expected[0], expected[expected.length - 1]]).toEqual([200, 200, 399]);
    expect(isReadOnly(httpRequest, p)).toBe(true);
  });

  it('sends other methods with headers, a body and custom statuses, and is not read-only then', () => {
    const token = new Secret('api_token', 't0ken');
    const p = httpRequest.params.parse({
      url: 'https://10.0.0.12/api/cluster/activate',
      method: 'post',
      headers: { Authorization: new TemplatedWord(['Bearer ', token]) },
      body: '{"activate":true}',
      status: [204],
      insecure: true,
    });
    expect(httpRequest.plan(p, ctx).actions).toEqual([
      {
        type: 'http',
        request: {
          url: 'https://10.0.0.12/api/cluster/activate',
          method: 'POST',
          headers: { Authorization: new TemplatedWord(['Bearer ', token]) },
          body: '{"activate":true}',
          insecure: true,
        },
        expectStatus: [204],
      },
    ]);
    expect(isReadOnly(httpRequest, p)).toBe(false);
    expect(() => httpRequest.params.parse({ url: 'http://x/', method: 'FETCH' })).toThrow();
    expect(() => httpRequest.params.parse({ url: 'http://x/', headers: { 'Bad Header': 'x' } })).toThrow(
      /header name/,
    );
  });
});
