// Sorting a case's error into "typed" (what the library promises for bad input: an AlexNetError
// with a code, or a TypeError/RangeError that names the parameter) and "untyped" (anything else:
// a JavaScript engine error escaping the library, a bare Error, a native failure without a code).
import { AlexNetError } from '../../lib/index.js';
import type { ChildOutcome } from './types.js';

// Messages the JavaScript engine or Node-API give on their own: the library did not check first.
const ENGINE_MESSAGES = [
  /Cannot read propert/, /Cannot set propert/, /is not a function/, /is not iterable/, /is not a constructor/,
  /Cannot convert/, /Invalid array length/, /Invalid typed array length/, /Maximum call stack/,
  /Array buffer allocation failed/, /Invalid string length/, /before initialization/, /Cannot destructure/,
  /^(undefined|null) is not/, /^Invalid argument$/, /^An? \w+ was expected$/, /out of memory/i,
  /Unexpected token/, /is not valid JSON/, /BigInt/,
];

export function classify(error: unknown): ChildOutcome {
  if (error instanceof AlexNetError) {
    // INTERNAL is the native layer's catch-all for exceptions nobody checked for (length_error…).
    if (typeof error.code === 'string' && error.code.length > 0 && error.code !== 'INTERNAL')
      return { status: 'typed', name: error.name, code: error.code, message: error.message };
    return { status: 'untyped', name: error.name, message: `AlexNetError ${error.code || 'without a code'}: ${error.message}`, stack: error.stack };
  }
  if (error instanceof TypeError || error instanceof RangeError) {
    if (!ENGINE_MESSAGES.some((re) => re.test(error.message)))
      return { status: 'typed', name: error.name, message: error.message };
  }
  const e = error instanceof Error ? error : new Error(`a non-Error was thrown: ${String(error)}`);
  return { status: 'untyped', name: e.name, message: e.message, stack: e.stack };
}
