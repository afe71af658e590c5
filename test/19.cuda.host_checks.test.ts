// The CUDA backend's logic that can be checked without a GPU, on every machine that has a C++
// compiler: its bookkeeping (native/cuda/test/host_logic_check.cpp: label records, peer routes,
// plan caches, the algorithm fallback, the math each convolution search may use), and readings of
// its sources for rules the compiler cannot hold: every grow-only device buffer of the backend is
// given back when the device's block cache goes, and no device memory is set on the legacy default
// stream, which the backend's non-blocking stream does not wait for.
import { expect } from 'chai';
import { runHostCheck } from './helpers/host_check.js';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The body of the C++ function whose definition starts with `signature`, braces balanced. */
function functionBody(source: string, signature: string): string {
  const start = source.indexOf(signature);
  expect(start, `${signature} not found`).to.be.greaterThan(-1);
  const open = source.indexOf('{', start);
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}' && --depth === 0) return source.slice(open, i + 1);
  }
  throw new Error(`${signature}: unbalanced braces`);
}

describe('CUDA backend checks without a GPU', function () {
  this.timeout(120_000);

  it('host_logic_check.cpp passes (bookkeeping, algorithm fallback, convolution search math)', function () {
    const out = runHostCheck(this, 'native/cuda/test/host_logic_check.cpp', 'all ok',
      ['-O1', '-Wall', '-Inative/include', '-Inative/cuda', '-pthread']);
    expect(out).to.include('bfloat16/float16 search under tensor-op math');
  });

  it('setBlockSource gives back every grow-only buffer the backend declares', () => {
    const header = readFileSync(join(ROOT, 'native/cuda/cuda_backend.hpp'), 'utf8');
    const buffers = [...header.matchAll(/^\s*ScratchBuffer\s+(\w+)\s*;/gm)].map((m) => m[1]!);
    expect(buffers.length, 'no ScratchBuffer member found in cuda_backend.hpp').to.be.greaterThan(0);
    const body = functionBody(readFileSync(join(ROOT, 'native/cuda/transfer.cpp'), 'utf8'), 'void CudaBackend::setBlockSource(');
    const missing = buffers.filter((b) => !new RegExp(`\\b${b}\\.release\\(`).test(body));
    expect(missing, 'buffers setBlockSource leaves holding a block of the old cache').to.deep.equal([]);
  });

  it('sets device memory only on a stream (cudaMemsetAsync), never with cudaMemset on the legacy stream', () => {
    const dir = join(ROOT, 'native/cuda');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(cpp|cu|hpp|cuh)$/.test(f) && !f.startsWith('test'));
    const offenders = files.filter((f) => /\bcudaMemset\s*\(/.test(readFileSync(join(dir, f), 'utf8')));
    expect(offenders).to.deep.equal([]);
  });
});
