#!/usr/bin/env node
// The `alexnet` command: train, eval, predict, export, info, filters, plot, neighbours, experiment.
import { AlexNetError } from '../errors.js';
import { UsageError } from './args.js';

const commands: Record<string, { summary: string; load: () => Promise<(argv: string[]) => Promise<number>> }> = {
  train: { summary: 'train a preset or a data set; checkpoints, metrics, test accuracy', load: async () => (await import('./train.js')).trainCommand },
  eval: { summary: 'top-1/top-5 error of one or more checkpoints (an ensemble) on a data set', load: async () => (await import('./eval.js')).evalCommand },
  predict: { summary: 'top-5 classes with probabilities for image files', load: async () => (await import('./predict.js')).predictCommand },
  export: { summary: 'weights without momentum (safetensors), or the network as an ONNX model', load: async () => (await import('./export.js')).exportCommand },
  info: { summary: 'version, backends built, devices seen (and why not)', load: async () => (await import('./info.js')).infoCommand },
  filters: { summary: "conv1's kernels as a PNG by column (the paper's Figure 3), with colour statistics", load: async () => (await import('./filters.js')).filtersCommand },
  plot: { summary: "loss and error curves of a run's metrics as a PNG", load: async () => (await import('./plot.js')).plotCommand },
  neighbours: { summary: "a few test images and the training images nearest to them in fc7 space as a PNG (the paper's Figure 4, right)", load: async () => (await import('./neighbours.js')).neighboursCommand },
  experiment: { summary: "re-measures one of the paper's claims (e.g. relu-vs-tanh, Figure 1) with results and a figure", load: async () => (await import('./experiment.js')).experimentCommand },
};

const help = `Usage: alexnet <command> [options]

AlexNet (Krizhevsky, Sutskever & Hinton, 2012) on cuDNN and oneDNN.

Commands:
${Object.entries(commands).map(([n, c]) => `  ${n.padEnd(12)}${c.summary}`).join('\n')}

Run alexnet <command> --help for its options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') return (await commands.info!.load())(['--version']);
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) throw new UsageError(`alexnet: unknown command ${JSON.stringify(name)} (commands: ${Object.keys(commands).join(', ')})`);
  return (await command.load())(rest);
}

function report(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  if (e instanceof AlexNetError) {
    process.stderr.write(`alexnet: ${e.message} [${e.code}${e.call ? `, ${e.call}` : ''}]\n`);
    return 1;
  }
  if (e instanceof TypeError || e instanceof RangeError) {
    process.stderr.write(`alexnet: ${e.message}\n`);
    return 2;
  }
  // A failed system call (a file that cannot be created, a directory without write permission)
  // is the user's to fix, not a bug: one line naming the path, no stack.
  const sys = e as NodeJS.ErrnoException;
  if (sys instanceof Error && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    process.stderr.write(`alexnet: ${sys.message}\n`);
    return 1;
  }
  process.stderr.write(`alexnet: ${(e as Error)?.stack ?? String(e)}\n`);
  return 1;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => { process.exitCode = report(e); });
