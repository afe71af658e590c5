// The AlexNetError a promise rejects with (the test fails if it resolves or rejects otherwise).
import { expect } from 'chai';
import { AlexNetError } from '../../lib/index.js';

export async function rejection(promise: Promise<unknown>): Promise<AlexNetError> {
  try {
    await promise;
  } catch (e) {
    expect(e).to.be.instanceOf(AlexNetError);
    return e as AlexNetError;
  }
  throw new Error('expected a rejection');
}
