// The command line: help on every command, one-line errors with exit status 2 for bad flags.
import { expect } from 'chai';
import { runCli } from './helpers/cli.js';

const COMMANDS = ['train', 'eval', 'predict', 'info', 'plot'];

describe('alexnet CLI: usage', () => {
  it('without a command prints the command list and exits 2; --help exits 0', async () => {
    const none = await runCli([]);
    expect(none.code).to.equal(2);
    expect(none.stdout).to.match(/Usage: alexnet <command>/);
    for (const c of COMMANDS) expect(none.stdout).to.include(c);
    expect((await runCli(['--help'])).code).to.equal(0);
  });

  for (const c of COMMANDS) {
    it(`${c} --help prints its usage and exits 0`, async () => {
      const r = await runCli([c, '--help']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`^Usage: alexnet ${c}`));
    });
  }

  const bad: [string[], RegExp][] = [
    [['frobnicate'], /^alexnet: unknown command "frobnicate" \(commands: train, eval, predict, export, info, filters, plot, neighbours, experiment\)$/],
    [['train', '--bogus'], /^alexnet train: Unknown option '--bogus'.*--help/],
    [['train', '--epochs', 'ten'], /^alexnet train: --epochs must be an integer >= 1, got "ten"$/],
    [['train', '--epochs', '0'], /^alexnet train: --epochs must be an integer >= 1, got "0"$/],
    [['train', '--lr=-1'], /^alexnet train: --lr must be a number >= 0, got "-1"$/],
    [['train', '--preset', 'resnet'], /^alexnet train: --preset must be one of paper, fashion-mnist, fashion-mnist-quick, got "resnet"$/],
    [['train', '--dataset', 'mnist'], /^alexnet train: --dataset must be one of fashion-mnist, cifar10, imagenet, got "mnist"$/],
    [['train', '--init', 'xavier'], /^alexnet train: --init must be one of paper, he, got "xavier"$/],
    [['train', '--preset', 'paper', '--schedule', 'step'], /^alexnet train: --schedule step needs --step-every N$/],
    [['train', '--progress', 'loud'], /^alexnet train: --progress must be one of auto, bar, plain, none/],
    [['train', '--augment-on', 'gpu'], /^alexnet train: --augment-on must be one of host, device, got "gpu"$/],
    [['train', '--device', 'gpu0'], /^alexnet train: --device must be "cpu", "cpu:N", "cuda" or "cuda:N", optionally with a stream "\/L" \("cuda:0\/1"\), got "gpu0"$/],
    [['train', '--devices', 'cpu:0,cpu:x'], /^alexnet train: --devices must be "cpu", .* got "cpu:x"$/],
    [['eval', 'x', '--device', 'cuda:'], /^alexnet eval: --device must be "cpu", .* got "cuda:"$/],
    [['predict', 'a.png', '--checkpoint', 'c', '--device', 'tpu'], /^alexnet predict: --device must be "cpu", .* got "tpu"$/],
    [['train', '--config', '/no/such/file.json'], /^alexnet train: cannot read --config \/no\/such\/file\.json/],
    [['train', '--resume', '--lr', '0.1', '--out', '/tmp'], /^alexnet train: --lr cannot change when resuming/],
    [['train', 'extra'], /^alexnet train: Unexpected argument 'extra'/],
    [['eval'], /^alexnet eval: give at least one checkpoint/],
    [['eval', 'x', '--split', 'val'], /^alexnet eval: --split must be one of test, train, got "val"$/],
    [['eval', 'x', '--augment-on', 'cpu'], /^alexnet eval: --augment-on must be one of host, device, got "cpu"$/],
    [['predict', 'a.png'], /^alexnet predict: --checkpoint PATH is required$/],
    [['predict', '--checkpoint', 'c'], /^alexnet predict: give at least one image file$/],
    [['plot'], /^alexnet plot: give one run directory or metrics.jsonl$/],
    [['plot', 'run', '--width', '10'], /^alexnet plot: --width must be an integer from 400 to 10000, got "10"$/],
    [['info', '--verbose'], /^alexnet info: Unknown option '--verbose'/],
  ];
  for (const [args, message] of bad) {
    it(`alexnet ${args.join(' ')} → exit 2 with a one-line error`, async () => {
      const r = await runCli(args);
      expect(r.code, r.stderr).to.equal(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.match(message);
    });
  }

  it('a bad --device is rejected naming it (exit 2)', async () => {
    const r = await runCli(['train', '--device', 'gpu0']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/gpu0/);
  });

  it('a --config file sets flags; unknown settings are rejected', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-config-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ epochz: 3 }));
    const r = await runCli(['train', '--config', join(dir, 'bad.json')]);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim()).to.match(/unknown setting 'epochz'$/);
    writeFileSync(join(dir, 'typed.json'), JSON.stringify({ batchSize: 'x' }));
    const t = await runCli(['train', '--config', join(dir, 'typed.json')]);
    expect(t.stderr.trim()).to.equal('alexnet train: --batch-size must be an integer >= 1, got "x"');
  });
});

describe('alexnet info', () => {
  it('prints the version, the backends and the devices', async () => {
    const r = await runCli(['info']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^alexnet-cudnn \d+\.\d+\.\d+/);
    expect(r.stdout).to.match(/addon: +\/.*alexnet\.node$/m);
    expect(r.stdout).to.match(/CPU backend: +oneDNN/);
    expect(r.stdout).to.match(/CUDA backend: +(available|unavailable): /);
    // 16-bit compute on the CPU: bfloat16 per the machine, float16 never (no CPU float16 kernels).
    expect(r.stdout).to.match(/CPU bfloat16: +(yes|no): /);
    expect(r.stdout).to.match(/CPU float16: +no: .*the CPU backend has no float16 kernels.*FLOAT16_UNSUPPORTED/);
    expect(r.stdout).to.match(/devices: +.*cpu/);
    const json = JSON.parse((await runCli(['info', '--json'])).stdout);
    expect(json.devices).to.include('cpu');
    expect(json.fp16.cpu.supported).to.equal(false);
    expect(json.bf16.cpu.supported).to.be.a('boolean');
    // Each GPU's line says its 16-bit compute, from its compute capability.
    for (const line of json.gpus as string[]) expect(line).to.match(/bf16 (yes|no[^,]*), fp16 (yes|no)/);
    expect(json.addon).to.match(/alexnet\.node$/);
    expect((await runCli(['--version'])).stdout.trim()).to.equal(json.version);
  });
});
