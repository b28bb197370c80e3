/** Resolves with the PortholeError a promise rejects with; fails the test when it resolves or throws anything else. */
import assert from 'node:assert/strict';
import { PortholeError } from '../../src/errors/index.js';

export async function rejection(promise: Promise<unknown>): Promise<PortholeError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof PortholeError, `a PortholeError, not ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}
