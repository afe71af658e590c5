// The install step's choice between the package's prebuilt binaries and a build from source
// (scripts/install.mjs), in a scratch package that holds a prebuild made from this build's addon.
// ALEXNET_INSTALL_DRY_RUN=1: the script says what it would do and builds nothing.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonPath } from '../lib/binding.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tag = `${process.platform}-${process.arch}`;
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

interface Manifest { version: string; glibc: string; napi: number; addon: { file: string; sha256: string }; [k: string]: unknown }

describe('install: prebuilt binaries or a build from source', function () {
  this.timeout(60_000);
  let pkg = '';
  let manifest: Manifest;

  beforeEach(() => {
    pkg = mkdtempSync(join(tmpdir(), 'alexnet-install-'));
    mkdirSync(join(pkg, 'scripts'));
    copyFileSync(join(root, 'scripts', 'install.mjs'), join(pkg, 'scripts', 'install.mjs'));
    copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
    const dir = join(pkg, 'prebuilds', tag);
    mkdirSync(dir, { recursive: true });
    copyFileSync(addonPath, join(dir, 'alexnet.node'));
    manifest = {
      version, libc: 'glibc', glibc: '2.17', napi: 8, cudaModule: null,
      addon: { file: 'alexnet.node', sha256: createHash('sha256').update(readFileSync(addonPath)).digest('hex') },
    };
  });
  afterEach(() => rmSync(pkg, { recursive: true, force: true }));

  function install(env: Record<string, string> = {}): string {
    const manifestPath = join(pkg, 'prebuilds', tag, 'prebuild.json');
    if (existsSync(join(pkg, 'prebuilds'))) writeFileSync(manifestPath, JSON.stringify(manifest));
    const clean = { ...process.env };
    delete clean.npm_config_build_from_source;
    delete clean.ALEXNET_BUILD_FROM_SOURCE;
    const r = spawnSync(process.execPath, [join(pkg, 'scripts', 'install.mjs')],
      { encoding: 'utf8', env: { ...clean, ALEXNET_INSTALL_DRY_RUN: '1', ...env }, timeout: 50_000 });
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('alexnet-cudnn:'));
    expect(lines, r.stdout).to.have.length(1);
    return lines[0]!;
  }

  it('uses a prebuild that fits: this version, glibc, N-API, the listed file, and it loads', () => {
    expect(install()).to.match(new RegExp(`^alexnet-cudnn: using the prebuilt binaries for ${tag} \\(glibc [\\d.]+ >= 2\\.17; no CUDA module; no MPI module\\)$`));
  });

  it('says whether the MPI module finds Open MPI on the system (never carried: it must match mpirun)', () => {
    const mpiModule = { file: 'libalexnet_mpi.so', needs: ['libalexnet-no-such-mpi.so.40'], searches: ['$ORIGIN', 'the system'] };
    manifest.mpiModule = mpiModule;
    expect(install()).to.match(/; MPI module: libalexnet-no-such-mpi\.so\.40 not found, so data parallelism stays off until: apt-get install openmpi-bin libopenmpi3\)$/);
    mpiModule.needs = ['libc.so.6'];
    expect(install()).to.match(/; MPI module: the system's Open MPI\)$/);
  });

  it('builds from source in a git checkout, or when asked to', () => {
    mkdirSync(join(pkg, '.git'));
    expect(install()).to.equal('alexnet-cudnn: building from source with cmake-js: a git checkout builds its own binaries');
    rmSync(join(pkg, '.git'), { recursive: true });
    expect(install({ npm_config_build_from_source: 'true' })).to.match(/asked to build from source$/);
    expect(install({ ALEXNET_BUILD_FROM_SOURCE: '1' })).to.match(/asked to build from source$/);
  });

  it('builds from source when the package has no prebuild for this platform', () => {
    rmSync(join(pkg, 'prebuilds'), { recursive: true });
    expect(install()).to.equal(`alexnet-cudnn: building from source with cmake-js: no prebuilt binaries for ${tag} in this package`);
  });

  it('builds from source when the prebuild is for another version, a newer glibc or a newer N-API', () => {
    manifest.version = '0.0.0-other';
    expect(install()).to.match(/the prebuilt binaries are for version 0\.0\.0-other, the package is /);
    manifest.version = version;
    manifest.glibc = '99.0';
    expect(install()).to.match(/the prebuilt binaries need glibc >= 99\.0, this system has [\d.]+$/);
    manifest.glibc = '2.17';
    manifest.napi = 999;
    expect(install()).to.match(/the prebuilt addon needs N-API 999, Node v[\d.]+ has \d+$/);
  });

  it('links the cuDNN/cuBLAS wheels a Python finds beside the CUDA module, or says how to get them', () => {
    // A stand-in for python3 that reports an `nvidia` namespace directory holding two wheels.
    const wheels = join(pkg, 'site-packages', 'nvidia');
    for (const [sub, lib] of [['cudnn', 'libfake_cudnn.so.9'], ['cu13', 'libfake_cublas.so.13']] as const) {
      mkdirSync(join(wheels, sub, 'lib'), { recursive: true });
      writeFileSync(join(wheels, sub, 'lib', lib), '');
    }
    const bin = join(pkg, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'python3'), `#!/bin/sh\necho '${JSON.stringify([wheels])}'\n`, { mode: 0o755 });
    manifest.cudaModule = {
      file: 'libalexnet_cuda.so', needs: ['libfake_cudnn.so.9', 'libfake_cublas.so.13'],
      searches: ['$ORIGIN', '$ORIGIN/nvidia/cudnn/lib', '$ORIGIN/nvidia/cu13/lib', '$ORIGIN/nvidia/cublas/lib'],
    };
    const path = `${bin}:${process.env.PATH}`;
    expect(install({ PATH: path })).to.match(/; CUDA module: cuDNN\/cuBLAS from NVIDIA's wheels at .*site-packages\/nvidia; no MPI module\)$/);
    expect(existsSync(join(pkg, 'prebuilds', tag, 'nvidia', 'cudnn', 'lib', 'libfake_cudnn.so.9'))).to.equal(true);
    expect(existsSync(join(pkg, 'prebuilds', tag, 'nvidia', 'cu13', 'lib', 'libfake_cublas.so.13'))).to.equal(true);

    writeFileSync(join(bin, 'python3'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    writeFileSync(join(bin, 'python'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    expect(install({ PATH: path })).to.match(/; CUDA module: libfake_cudnn\.so\.9, libfake_cublas\.so\.13 not found, so CUDA stays off until: pip install nvidia-cudnn-cu13 nvidia-cublas, then npm rebuild alexnet-cudnn; no MPI module\)$/);
    expect(existsSync(join(pkg, 'prebuilds', tag, 'nvidia'))).to.equal(false);
  });

  it('builds from source when the addon is not the listed file, or does not load', () => {
    manifest.addon.sha256 = '0'.repeat(64);
    expect(install()).to.match(/alexnet\.node is not the file the prebuild lists \(damaged or replaced\)$/);
    const broken = 'not an ELF file';
    writeFileSync(join(pkg, 'prebuilds', tag, 'alexnet.node'), broken);
    manifest.addon.sha256 = createHash('sha256').update(broken).digest('hex');
    expect(install()).to.match(/the prebuilt addon does not load here: .*alexnet\.node/);
  });
});
