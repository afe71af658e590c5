// Every error code the sources can produce is one of ERROR_CODES, so the AlexNetErrorCode union
// is the complete list a caller can switch over.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlexNetError, ERROR_CODES } from '../lib/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string, extensions: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && extensions.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

describe('error codes', () => {
  it('the native core and the TypeScript layer use only the listed codes', () => {
    const used = new Set<string>();
    for (const file of sources(join(root, 'native'), /\.(cpp|hpp|cu|cuh)$/))
      for (const m of readFileSync(file, 'utf8').matchAll(/\bError\(\s*"([A-Z_]+)"/g)) used.add(m[1]!);
    for (const file of sources(join(root, 'lib'), /\.ts$/))
      for (const m of readFileSync(file, 'utf8').matchAll(/new AlexNetError\([^;]*?,\s*'([A-Z_]+)'/gs)) used.add(m[1]!);
    expect(used.size, 'codes found in the sources').to.be.above(8);
    const listed = new Set<string>(ERROR_CODES);
    expect([...used].filter((c) => !listed.has(c)), 'codes missing from ERROR_CODES').to.deep.equal([]);
  });

  it('an AlexNetError keeps its code, call and hint, and the hint follows the message', () => {
    const e = new AlexNetError('cannot read x', 'IO_ERROR', 'open', 'check the path');
    expect([e.code, e.call, e.hint, e.name]).to.deep.equal(['IO_ERROR', 'open', 'check the path', 'AlexNetError']);
    expect(e.message).to.equal('cannot read x\ncheck the path');
  });
});
