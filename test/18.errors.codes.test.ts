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

describe('the environment', () => {
  it('loading the library leaves OMP_WAIT_POLICY and GOMP_SPINCOUNT as they were (the short spin applies to the addon only)', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `const lib = await import(${JSON.stringify(new URL('../lib/index.js', import.meta.url).href)});
      const { ompWaitPolicy } = await import(${JSON.stringify(new URL('../lib/binding.js', import.meta.url).href)});
      console.log(JSON.stringify({ env: process.env.OMP_WAIT_POLICY ?? null, spin: process.env.GOMP_SPINCOUNT ?? null, used: ompWaitPolicy, cpu: typeof lib.Tensor }));`;
    const run = (env: Record<string, string | undefined>) => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
      return JSON.parse(r.stdout) as { env: string | null; spin: string | null; used: string };
    };
    const { OMP_WAIT_POLICY: _ignored, GOMP_SPINCOUNT: _ignoredToo, ...rest } = process.env;
    expect(run(rest)).to.deep.include({ env: null, spin: null, used: 'GOMP_SPINCOUNT=1000' });
    expect(run({ ...rest, OMP_WAIT_POLICY: 'ACTIVE' })).to.deep.include({ env: 'ACTIVE', spin: null, used: 'OMP_WAIT_POLICY=ACTIVE' });
    expect(run({ ...rest, GOMP_SPINCOUNT: '0' })).to.deep.include({ env: null, spin: '0', used: 'GOMP_SPINCOUNT=0' });
  });
});
