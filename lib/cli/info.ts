// `alexnet info`: what this installation can do here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addonPath, ompWaitPolicy, packageRoot } from '../binding.js';
import { availableDevices, cudaInfo, numThreads } from '../device.js';
import { bf16Support, fp16Support } from '../tensor.js';
import { transportInfo } from '../distributed/index.js';
import { parse } from './args.js';

export const infoHelp = `Usage: alexnet info [--json] [--version]

Prints the version, the addon file in use (built from source or prebuilt), the backends built into
it, whether the CPU computes in bfloat16 (--precision bf16 needs AVX512_BF16) and in float16 (it
does not: --precision fp16 is for CUDA), and the devices seen (and, for CUDA, why not), each GPU with
the 16-bit types its compute capability allows (bf16 from 8.0, fp16 from 7.0), read from the device
properties without starting a CUDA backend on it.`;

export function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function infoCommand(argv: string[]): Promise<number> {
  const { values } = parse('info', argv, { json: { type: 'boolean' }, version: { type: 'boolean' } });
  if (values.help) {
    console.log(infoHelp);
    return 0;
  }
  if (values.version) {
    console.log(version());
    return 0;
  }
  const cuda = cudaInfo();
  let data = 'not built';
  try {
    const { dataBinding } = await import('../data/native.js');
    dataBinding();
    data = 'built (libjpeg-turbo decoding, native batch pipeline)';
  } catch (e) {
    data = `unavailable: ${(e as Error).message.split('\n')[0]}`;
  }
  // Loading the transport modules only reports on them: no process group is formed.
  const transports = transportInfo();
  const info = {
    version: version(),
    node: process.version,
    addon: addonPath,
    backends: { cpu: 'oneDNN', cuda: cuda.status },
    transports,
    ompWaitPolicy,
    cpuThreads: numThreads(),
    dataPipeline: data,
    // bfloat16 compute (precision bf16) on the CPU: AVX512_BF16 through oneDNN, or why not; float16
    // (precision fp16): why not. For GPUs both are in their lines (`gpus`), from the compute
    // capability: asking a CUDA device would create its backend (a stream, cuDNN and cuBLAS handles).
    bf16: { cpu: bf16Support('cpu') },
    fp16: { cpu: fp16Support('cpu') },
    devices: availableDevices(),
    gpus: cuda.devices,
  };
  if (values.json) {
    console.log(JSON.stringify(info, null, 2));
    return 0;
  }
  console.log(`alexnet-cudnn ${info.version} (Node ${info.node})`);
  console.log(`addon:          ${info.addon}`);
  const chosen = process.env.OMP_WAIT_POLICY !== undefined || process.env.GOMP_SPINCOUNT !== undefined;
  console.log(`CPU backend:    oneDNN (always built); OpenMP threads wait with ${ompWaitPolicy}` +
    (chosen ? '' : ' (a short spin, then sleep: the default here; set OMP_WAIT_POLICY or GOMP_SPINCOUNT to change it)'));
  console.log(`CPU threads:    ${info.cpuThreads}` +
    (process.env.OMP_NUM_THREADS ? ' (OMP_NUM_THREADS)' : ' (every core; --threads N or OMP_NUM_THREADS to change)'));
  console.log(`CPU bfloat16:   ${info.bf16.cpu.supported ? 'yes' : 'no'}: ${info.bf16.cpu.reason}` +
    (info.bf16.cpu.supported ? '' : ' (precision bf16 raises BF16_UNSUPPORTED here)'));
  console.log(`CPU float16:    ${info.fp16.cpu.supported ? 'yes' : 'no'}: ${info.fp16.cpu.reason}` +
    (info.fp16.cpu.supported ? '' : ' (precision fp16 raises FLOAT16_UNSUPPORTED here)'));
  console.log(`CUDA backend:   ${cuda.status}`);
  for (const d of cuda.devices) console.log(`                ${d}`);
  console.log(`data pipeline:  ${data}`);
  console.log(`data parallel:  mpi: ${transports.mpi}`);
  console.log(`                nccl: ${transports.nccl}`);
  console.log(`devices:        ${info.devices.join(', ')} (best first)`);
  return 0;
}
