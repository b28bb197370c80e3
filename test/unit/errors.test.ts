import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderErrorsDoc } from '../../src/errors/doc.js';
import { errorCodes, errorRegistry, exitCodeFor, PortholeError, toPortholeError } from '../../src/errors/index.js';

describe('error registry', () => {
  it('docs/errors.md matches the registry (run `npm run errors:docs` after changing codes)', () => {
    const onDisk = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    assert.equal(onDisk, renderErrorsDoc());
  });

  it('every code is E_ plus upper snake case, with a message and a hint', () => {
    for (const code of errorCodes) {
      assert.match(code, /^E_[A-Z0-9_]+$/);
      assert.ok(errorRegistry[code].message.length > 0);
      assert.ok(errorRegistry[code].hint.length > 0);
    }
  });

  it('maps usage errors to exit 2 and operational errors to 3', () => {
    assert.equal(exitCodeFor(new PortholeError('E_PORT_SPEC')), 2);
    assert.equal(exitCodeFor(new PortholeError('E_TIMEOUT')), 3);
    assert.equal(exitCodeFor(new Error('boom')), 3);
  });

  it('keeps detail, data and cause', () => {
    const cause = new Error('inner');
    const error = new PortholeError('E_PORT_SPEC', { detail: '"x"', cause, data: { spec: 'x' } });
    assert.equal(error.message, 'Invalid port specification: "x"');
    assert.equal(error.cause, cause);
    assert.deepEqual(error.toJSON(), {
      code: 'E_PORT_SPEC',
      message: 'Invalid port specification: "x"',
      hint: errorRegistry.E_PORT_SPEC.hint,
      spec: 'x',
    });
  });

  it('wraps foreign errors as E_INTERNAL with the cause', () => {
    const wrapped = toPortholeError(new TypeError('nope'));
    assert.equal(wrapped.code, 'E_INTERNAL');
    assert.ok(wrapped.cause instanceof TypeError);
  });
});
