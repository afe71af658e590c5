#!/usr/bin/env node
// `npm run prebuild`: turns a build (build/Release, from `npm run build`) into the prebuilt binaries
// that the npm package carries, prebuilds/<platform>-<arch>/:
//   alexnet.node            the addon (CPU backend, data pipeline, bindings)
//   libalexnet_cuda.so      the CUDA module, when the build made one; the addon loads it lazily
//   libalexnet_mpi.so       the MPI module (data parallelism), when built; loaded lazily, it uses the
//                           system's Open MPI (libmpi.so.40), which must match the user's mpirun
//   libalexnet_nccl.so      the NCCL module, when built; loaded lazily, NCCL from NVIDIA's wheel
//   lib*.so.*               every shared library they need that is not part of a bare glibc system
//                           (oneDNN and its libOpenCL and libgomp, libjpeg-turbo, libpng), copied
//                           from this machine under their SONAME
//   licenses/               the copyright file of each carried library's Debian package
//   prebuild.json           what scripts/install.mjs checks before using them (version, N-API,
//                           minimum glibc and libstdc++, the files, what the CUDA module needs)
// Every file gets the run path $ORIGIN, so each finds the others beside it and nothing is looked
// up on the system except glibc, libstdc++, libgcc_s and zlib. cuDNN and cuBLAS are never carried
// (NVIDIA's wheels provide them at run time): the CUDA module also searches nvidia/<wheel>/lib
// beside it, where the install script links the wheels it finds.
//
// Needs patchelf, ldd and objdump (Debian: apt-get install patchelf binutils).
//   node scripts/prebuild.mjs [--from build/Release]
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const tag = `${process.platform}-${process.arch}`;
const fromIndex = process.argv.indexOf('--from');
const from = resolve(root, fromIndex > 0 ? process.argv[fromIndex + 1] : join('build', 'Release'));
const out = join(root, 'prebuilds', tag);

// Present on every glibc system the package supports, and loaded by Node itself (libstdc++,
// libgcc_s) or by glibc: carrying a second copy would not even be used.
const SYSTEM = /^(linux-vdso|libc|libm|libdl|libpthread|librt|libresolv|ld-linux-x86-64|libstdc\+\+|libgcc_s|libz)\.so/;
// NVIDIA's libraries come from the user's driver and wheels, never from this package.
const NVIDIA = /^lib(cudnn|cublas|cublasLt|cudart|cuda|nvidia|nvrtc|nvJitLink|cufft|curand|cusparse|nccl)[._]/;
// Open MPI and what it loads come from the user's system: the library must be the one their mpirun
// starts the processes with.
const MPI = /^lib(mpi|open-rte|open-pal|hwloc|event|pmix|ucp|ucs|uct|ucm|fabric|psm|ibverbs|rdmacm|munge)[._-]/;
// Where the CUDA module looks for cuDNN and cuBLAS besides $ORIGIN: NVIDIA's wheel layout
// (nvidia/cudnn/lib, nvidia/cu13/lib for CUDA 13's cuBLAS, nvidia/cublas/lib for CUDA 12's).
const CUDA_RUNPATH = ['$ORIGIN', '$ORIGIN/nvidia/cudnn/lib', '$ORIGIN/nvidia/cu13/lib', '$ORIGIN/nvidia/cublas/lib'];
// The NCCL module also finds libnccl in the NCCL wheel (nvidia/nccl/lib).
const NCCL_RUNPATH = [...CUDA_RUNPATH, '$ORIGIN/nvidia/nccl/lib'];

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function need(tool, debianPackage) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
    fail(`${tool} not found (apt-get install ${debianPackage})`);
}

// The shared libraries `file` loads, by the name it asks for, with where this machine finds them.
function dependencies(file) {
  const found = new Map();
  const env = { ...process.env };
  delete env.LD_LIBRARY_PATH;  // what the binaries' own run paths and the system give, nothing else
  const text = execFileSync('ldd', [file], { encoding: 'utf8', env });
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+(.*?)\s+\(0x/.exec(line) ?? /^\s*(\S+)\s+=>\s+(not found)/.exec(line);
    if (m) found.set(m[1], m[2]);
  }
  return found;
}

function debianPackageOf(path) {
  const r = spawnSync('dpkg', ['-S', path], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const name = r.stdout.split(':')[0].trim();
  const version = spawnSync('dpkg-query', ['-W', '-f', '${Version}', name], { encoding: 'utf8' }).stdout.trim();
  return { name, version };
}

// The highest symbol version of each kind (GLIBC_, GLIBCXX_, CXXABI_) the file requires.
function requiredVersions(file, into) {
  for (const m of run('objdump', ['-p', file]).matchAll(/\b(GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\b/g)) {
    if (compareVersions(m[2], into[m[1]] ?? '0') > 0) into[m[1]] = m[2];
  }
}

function compareVersions(a, b) {
  const x = a.split('.').map(Number), y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function cudaVersion() {
  const cache = join(from, '..', 'CMakeCache.txt');
  if (!existsSync(cache)) return null;
  const nvcc = /^CMAKE_CUDA_COMPILER:[A-Z]+=(.*)$/m.exec(readFileSync(cache, 'utf8'))?.[1];
  if (!nvcc) return null;
  const r = spawnSync(nvcc, ['--version'], { encoding: 'utf8' });
  return /release ([0-9]+\.[0-9]+)/.exec(r.stdout ?? '')?.[1] ?? null;
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

if (process.platform !== 'linux') fail(`prebuilt binaries are made on Linux only (this is ${process.platform})`);
need('patchelf', 'patchelf');
need('ldd', 'libc-bin');
need('objdump', 'binutils');
const addon = join(from, 'alexnet.node');
if (!existsSync(addon)) fail(`${addon} not found: build first (npm run build)`);
const cudaModule = join(from, 'libalexnet_cuda.so');
const mpiModule = join(from, 'libalexnet_mpi.so');
const ncclModule = join(from, 'libalexnet_nccl.so');
// The modules the addon loads on first use, each with the run path it searches.
const modules = [[cudaModule, CUDA_RUNPATH], [mpiModule, ['$ORIGIN']], [ncclModule, NCCL_RUNPATH]]
  .filter(([file]) => existsSync(file));
const binaries = [addon, ...modules.map(([file]) => file)];

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'licenses'), { recursive: true });

// What to carry: the dependency closure of the addon and the CUDA module, less the system and
// NVIDIA's libraries. ldd resolves the closure recursively, so oneDNN's libOpenCL comes along.
const carried = new Map();  // SONAME -> path on this machine
const runtimeNeeds = new Map();  // module -> the NVIDIA or MPI libraries it finds at run time
for (const binary of binaries) {
  for (const [name, path] of dependencies(binary)) {
    if (SYSTEM.test(name)) continue;
    // Everything the MPI module needs besides the system comes with the user's Open MPI.
    if (NVIDIA.test(name) || MPI.test(name) || binary === mpiModule) {
      if (binary !== addon) runtimeNeeds.set(binary, [...(runtimeNeeds.get(binary) ?? []), name]);
      continue;
    }
    if (path === 'not found') fail(`${basename(binary)} needs ${name}, which this machine does not have`);
    carried.set(name, realpathSync(path));
  }
}
// Only the CUDA module's direct needs: cuBLAS pulls in cuBLASLt from its own directory.
const cudaNeeds = existsSync(cudaModule) ? directNeeds(cudaModule) : [];

for (const binary of binaries) copyFileSync(binary, join(out, basename(binary)));
const packages = [];
for (const [name, path] of carried) {
  copyFileSync(path, join(out, name));
  const deb = debianPackageOf(path);
  if (deb) {
    packages.push({ file: name, package: deb.name, version: deb.version });
    const copyright = `/usr/share/doc/${deb.name}/copyright`;
    if (existsSync(copyright)) copyFileSync(copyright, join(out, 'licenses', `${deb.name}.copyright`));
  } else {
    packages.push({ file: name, package: null, version: null });
    console.warn(`prebuild: ${name} (${path}) is not from a Debian package: add its licence to ${out}/licenses by hand`);
  }
}

for (const name of [basename(addon), ...carried.keys()]) run('patchelf', ['--set-rpath', '$ORIGIN', join(out, name)]);
for (const [file, runpath] of modules) run('patchelf', ['--set-rpath', runpath.join(':'), join(out, basename(file))]);

// Every carried library must now resolve to its copy here, from the addon and from each other.
for (const name of [basename(addon), ...carried.keys()]) {
  for (const [dep, path] of dependencies(join(out, name))) {
    if (carried.has(dep) && dirname(path) !== out) fail(`${name} finds ${dep} at ${path}, not beside it`);
  }
}

const versions = {};
for (const name of [basename(addon), ...carried.keys(), ...modules.map(([file]) => basename(file))])
  requiredVersions(join(out, name), versions);

// A module's direct needs among what it finds at run time (not what those pull in themselves).
function directNeeds(file) {
  const direct = run('readelf', ['-d', file]);
  return (runtimeNeeds.get(file) ?? []).filter((n) => direct.includes(`[${n}]`));
}

const napiVersions = pkg.binary?.napi_versions ?? [8];
const manifest = {
  name: pkg.name,
  version: pkg.version,
  platform: process.platform,
  arch: process.arch,
  libc: 'glibc',
  glibc: versions.GLIBC,
  glibcxx: versions.GLIBCXX,
  napi: Math.max(...napiVersions),
  addon: { file: basename(addon), sha256: sha256(join(out, basename(addon))) },
  cudaModule: existsSync(cudaModule)
    ? { file: basename(cudaModule), cuda: cudaVersion(), needs: cudaNeeds, searches: CUDA_RUNPATH }
    : null,
  mpiModule: existsSync(mpiModule) ? { file: basename(mpiModule), needs: directNeeds(mpiModule), searches: ['$ORIGIN', 'the system'] } : null,
  ncclModule: existsSync(ncclModule) ? { file: basename(ncclModule), needs: directNeeds(ncclModule), searches: NCCL_RUNPATH } : null,
  carried: packages,
  builtOn: /^PRETTY_NAME="?([^"\n]*)/m.exec(existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '')?.[1] ?? 'unknown',
  commit: spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout?.trim() || null,
};
writeFileSync(join(out, 'prebuild.json'), JSON.stringify(manifest, null, 2) + '\n');

// The copy loads by itself, and takes its libraries from here rather than from the system.
const probe = spawnSync(process.execPath, ['-e', `
  const b = require(process.argv[1]);
  if (typeof b.fromArray !== 'function') throw new Error('not the alexnet addon');
  const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
  for (const name of JSON.parse(process.argv[2])) {
    const line = maps.split('\\n').find((l) => l.includes('/' + name));
    if (!line || !line.includes(process.argv[3] + '/')) throw new Error(name + ' was not loaded from ' + process.argv[3]);
  }
  process.exit(0);`, join(out, basename(addon)), JSON.stringify([...carried.keys()]), out],
{ encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: '', ALEXNET_ADDON: '' }, timeout: 60000 });
if (probe.status !== 0) fail(`the prebuilt addon does not load: ${probe.stderr || probe.error}`);

let bytes = 0;
for (const name of [basename(addon), ...carried.keys(), ...modules.map(([file]) => basename(file))])
  bytes += statSync(join(out, name)).size;
console.log(`prebuild: ${out} (${(bytes / 2 ** 20).toFixed(1)} MiB): ${binaries.map((b) => basename(b)).join(', ')}` +
  ` + ${[...carried.keys()].join(', ')}; needs glibc >= ${manifest.glibc}, libstdc++ GLIBCXX_${manifest.glibcxx}` +
  (manifest.cudaModule ? `; the CUDA module (CUDA ${manifest.cudaModule.cuda}) finds ${cudaNeeds.join(', ')} at run time` : '; no CUDA module'));
