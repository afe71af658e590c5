#!/usr/bin/env node
// npm's install step. Uses the prebuilt binaries in prebuilds/<platform>-<arch>/ (made by
// scripts/prebuild.mjs) when they fit this machine, and otherwise builds the addon from source with
// cmake-js (npm run build:native), which needs what scripts/install-deps.sh installs. Prints one
// line saying which it did and why.
//
// They fit when: this is not a git checkout (a clone builds what its sources say), the build was
// not asked for (npm install --build-from-source, or ALEXNET_BUILD_FROM_SOURCE=1), the package
// holds a prebuild for this platform and architecture made for this version, the C library is
// glibc at least as new as the one the prebuild needs, Node's N-API is new enough, the addon is the
// file the prebuild lists, and it loads in a child process (so a failing load cannot take the
// install down with it, and the error says what is missing).
// ALEXNET_INSTALL_DRY_RUN=1 prints the decision and builds nothing (the tests use it).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const tag = `${process.platform}-${process.arch}`;
const dir = join(root, 'prebuilds', tag);

const say = (message) => console.log(`alexnet-cudnn: ${message}`);

function compareVersions(a, b) {
  const x = String(a).split('.').map(Number), y = String(b).split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function buildRequested() {
  return process.env.npm_config_build_from_source === 'true' || process.env.ALEXNET_BUILD_FROM_SOURCE === '1';
}

// Why the prebuild cannot be used here, or null when it can (then `manifest` is set).
let manifest = null;
function whyNotPrebuilt() {
  if (buildRequested()) return 'asked to build from source';
  if (existsSync(join(root, '.git'))) return 'a git checkout builds its own binaries';
  const manifestPath = join(dir, 'prebuild.json');
  if (!existsSync(manifestPath)) {
    const have = existsSync(join(root, 'prebuilds')) ? readdirSync(join(root, 'prebuilds')) : [];
    return `no prebuilt binaries for ${tag} in this package` + (have.length ? ` (it has ${have.join(', ')})` : '');
  }
  const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
  if (m.version !== pkg.version) return `the prebuilt binaries are for version ${m.version}, the package is ${pkg.version}`;
  const glibc = process.report?.getReport().header.glibcVersionRuntime;
  if (m.libc === 'glibc' && !glibc) return `the prebuilt binaries need glibc, and this system's C library is not glibc (musl?)`;
  if (m.glibc && compareVersions(glibc, m.glibc) < 0) return `the prebuilt binaries need glibc >= ${m.glibc}, this system has ${glibc}`;
  if (Number(process.versions.napi) < m.napi) return `the prebuilt addon needs N-API ${m.napi}, Node ${process.version} has ${process.versions.napi}`;
  const addon = join(dir, m.addon.file);
  if (!existsSync(addon)) return `${addon} is missing`;
  if (createHash('sha256').update(readFileSync(addon)).digest('hex') !== m.addon.sha256)
    return `${addon} is not the file the prebuild lists (damaged or replaced)`;
  const probe = spawnSync(process.execPath, ['-e', `
    const b = require(process.argv[1]);
    if (typeof b.fromArray !== 'function' || typeof b.cudaInfo !== 'function') throw new Error('not the alexnet addon');
    process.exit(0);`, addon],
  { encoding: 'utf8', env: { ...process.env, ALEXNET_ADDON: '' }, timeout: 60000 });
  if (probe.status !== 0) {
    const lines = `${probe.stderr ?? ''}${probe.error ?? ''}`.split('\n').map((l) => l.trim());
    const why = lines.find((l) => /^Error|not found|cannot open/.test(l)) ?? lines.find(Boolean) ?? `exit ${probe.status}`;
    return `the prebuilt addon does not load here: ${why}`;
  }
  manifest = m;
  return null;
}

// Python's `nvidia` namespace directories (NVIDIA's cuDNN and cuBLAS wheels), if any Python has them.
function nvidiaWheelDirs() {
  for (const python of ['python3', 'python']) {
    const r = spawnSync(python, ['-c', 'import json, nvidia; print(json.dumps(list(nvidia.__path__)))'],
      { encoding: 'utf8', timeout: 15000 });
    if (r.status === 0) {
      try { return JSON.parse(r.stdout.trim().split('\n').pop()); } catch { /* not JSON: try the next */ }
    }
  }
  return [];
}

// Links nvidia/<wheel> beside the CUDA module to the wheels found (its run path searches there),
// and says where cuDNN and cuBLAS come from, or what to do.
function linkCudaLibraries(m) {
  const linkDir = join(dir, 'nvidia');
  rmSync(linkDir, { recursive: true, force: true });
  const wheelDirs = nvidiaWheelDirs();
  const linked = [];
  for (const sub of ['cudnn', 'cu13', 'cublas', 'nccl']) {
    const target = wheelDirs.map((d) => join(d, sub)).find((d) => existsSync(join(d, 'lib')));
    if (!target) continue;
    mkdirSync(linkDir, { recursive: true });
    try {
      symlinkSync(target, join(linkDir, sub));
      linked.push(target);
    } catch { /* a read-only install: LD_LIBRARY_PATH or the system paths still work */ }
  }
  const system = spawnSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '';
  const userDirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const missing = m.cudaModule.needs.filter((lib) =>
    !m.cudaModule.searches.some((p) => existsSync(join(dir, p.replace('$ORIGIN', '.'), lib))) &&
    !userDirs.some((d) => existsSync(join(d, lib))) && !system.includes(`${lib} `));
  if (missing.length === 0)
    return linked.length ? `cuDNN/cuBLAS from NVIDIA's wheels at ${[...new Set(linked.map(dirname))].join(', ')}`
      : 'cuDNN/cuBLAS from the system';
  return `${missing.join(', ')} not found, so CUDA stays off until: pip install nvidia-cudnn-cu13 nvidia-cublas, then npm rebuild alexnet-cudnn`;
}

// Whether the MPI module's Open MPI is on this system (it is never carried: it must be the one the
// user's mpirun starts the processes with).
function mpiStatus(m) {
  if (!m.mpiModule) return 'no MPI module';
  const system = spawnSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '';
  const missing = m.mpiModule.needs.filter((lib) => !system.includes(`${lib} `));
  return missing.length === 0 ? 'MPI module: the system\'s Open MPI'
    : `MPI module: ${missing.join(', ')} not found, so data parallelism stays off until: apt-get install openmpi-bin libopenmpi3`;
}

function buildFromSource() {
  const npm = process.env.npm_execpath;
  const [cmd, args] = npm ? [process.execPath, [npm, 'run', 'build:native']] : ['npm', ['run', 'build:native']];
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    say('the build from source failed. It needs CMake, a C++17 compiler, oneDNN, libjpeg-turbo and libpng ' +
      `(Debian/Ubuntu: bash ${join(root, 'scripts', 'install-deps.sh')}); the error above names what is missing.`);
    process.exit(r.status ?? 1);
  }
}

const reason = whyNotPrebuilt();
if (reason === null) {
  const glibc = process.report.getReport().header.glibcVersionRuntime;
  const cuda = manifest.cudaModule ? `CUDA module: ${linkCudaLibraries(manifest)}` : 'no CUDA module';
  say(`using the prebuilt binaries for ${tag} (glibc ${glibc} >= ${manifest.glibc}; ${cuda}; ${mpiStatus(manifest)})`);
} else {
  say(`building from source with cmake-js: ${reason}`);
  if (process.env.ALEXNET_INSTALL_DRY_RUN !== '1') buildFromSource();
}
