// The library's modules import each other without cycles: each layer builds only on those below it
// (binding → tensor → ops → nn → optim → models → train → cli). Reads the compiled JavaScript, where
// type-only imports are gone, so only imports that run count.
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '../lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []);
}

/** The relative imports and re-exports of a compiled file, as absolute paths. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|^\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/gm)]
    .map((m) => resolve(dirname(file), (m[1] ?? m[2])!));
}

/** Every import cycle, each as the files along it. */
function cycles(files: string[]): string[][] {
  const graph = new Map(files.map((f) => [f, imports(f)]));
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const found: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  files.forEach((f) => { if (!state.has(f)) visit(f); });
  return found;
}

describe('layering', () => {
  it('no module of the library imports itself through others', () => {
    const files = sources(LIB);
    expect(files.length).to.be.above(20);
    expect(imports(join(LIB, 'models/alexnet.js'))).to.include(join(LIB, 'models/two_column.js')); // the reader sees imports
    const found = cycles(files).map((c) => c.map((f) => relative(LIB, f)).join(' -> '));
    expect(found).to.deep.equal([]);
  });
});
