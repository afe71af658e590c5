// Scopes that dispose the tensors made inside them: `tidy(fn)` runs fn and then disposes every tensor
// created during the call except those fn returns and those passed to `keep()`. Code that chains many
// ops (a layer's forward, the two-column exchanges) then needs no dispose() per intermediate.
//
// Only synchronous functions: an async fn returns at its first await, before the rest of its
// tensors exist, so they would escape the scope (or the scope would dispose tensors still in use).
// tidy throws a TypeError when fn returns a promise; use tidy inside the async function instead,
// around each synchronous part. (A promise fn made synchronously may be returned inside an object.)
import type { Tensor } from './tensor.js';
import { describe } from './validate.js';

interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
}

/** The open scopes, innermost last; each holds the tensors created while it was innermost. */
const scopes: Set<Disposable>[] = [];

/** @internal Called by Tensor for every tensor it wraps: the innermost open scope owns it. */
export function track(t: Disposable): void {
  scopes.at(-1)?.add(t);
}

/**
 * Runs `fn` and disposes every tensor created during the call, except the tensors it returns
 * (directly, or inside arrays and plain objects) and those passed to `keep()`. Returned tensors
 * belong to the enclosing scope, if any, so nested scopes compose. When fn throws, everything it
 * made is disposed and the error passes on. fn must be synchronous: a returned promise is a
 * TypeError (see the top of this file).
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`tidy(fn): fn must be a function, got ${describe(fn)}`);
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    close(scope, new Set());
    throw e;
  }
  if (isPromiseLike(result)) {
    // Nobody will see this promise's outcome: do not let its rejection end the process.
    result.then(undefined, () => undefined);
    close(scope, new Set());
    throw new TypeError('tidy(fn): fn returned a promise; tidy supports only synchronous functions ' +
      '(tensors made after an await would escape the scope). Call tidy inside the async function, around its synchronous parts ' +
      '(a promise made synchronously, such as a loss being read back, can be returned inside an object)');
  }
  close(scope, returnedFrom(result, scope));
  return result;
}

/**
 * Exempts `tensor` from every open tidy() scope: it lives until disposed by hand. For tensors that
 * outlive the call that made them (a layer's saved activations, parameters, optimiser state).
 * Returns the tensor.
 */
export function keep<T extends Tensor>(tensor: T): T {
  if (typeof tensor !== 'object' || tensor === null || typeof (tensor as Partial<Disposable>).dispose !== 'function')
    throw new TypeError(`keep(tensor): tensor must be a Tensor, got ${describe(tensor)}`);
  for (const scope of scopes) scope.delete(tensor);
  return tensor;
}

/** Ends the innermost scope: hands `returned` to the enclosing scope and disposes the rest. */
function close(scope: Set<Disposable>, returned: Set<Disposable>): void {
  if (scopes.pop() !== scope) throw new Error('tidy scopes closed out of order');
  const parent = scopes.at(-1);
  for (const t of scope) {
    if (returned.has(t)) parent?.add(t);
    else if (!t.disposed) t.dispose();
  }
}

/** The scope's tensors found in `value`, looking into arrays and plain objects. */
function returnedFrom(value: unknown, scope: Set<Disposable>): Set<Disposable> {
  const found = new Set<Disposable>();
  const seen = new Set<unknown>();
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (scope.has(v as Disposable)) found.add(v as Disposable);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) Object.values(v).forEach(visit);
  };
  visit(value);
  return found;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
