// The benchmarks' command lines: node's parseArgs with `--help` (the script's header comment, which
// says what it measures and how to run it) and, on a bad flag, one line naming it and the hint to
// ask for help instead of a stack trace.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
/** The parsed flags: strings, and booleans for the boolean options (the benchmarks take no lists). */
export type BenchValues<O extends Options> = { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };

/** The leading `//` comment of the script at `moduleUrl` (compiled JS keeps it), without the slashes. */
export function usageOf(moduleUrl: string): string {
  const lines = readFileSync(fileURLToPath(moduleUrl), 'utf8').split('\n');
  const header: string[] = [];
  for (const line of lines) {
    if (!line.startsWith('//')) break;
    header.push(line.replace(/^\/\/ ?/, ''));
  }
  return header.join('\n');
}

/** parseArgs(options) for the script at `moduleUrl`, with --help and a one-line error on a bad flag. */
export function benchArgs<O extends Options>(moduleUrl: string, options: O, argv = process.argv.slice(2)): { values: BenchValues<O> } {
  const script = basename(fileURLToPath(moduleUrl));
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usageOf(moduleUrl)}\n`);
    process.exit(0);
  }
  try {
    return { values: parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as BenchValues<O> };
  } catch (e) {
    process.stderr.write(`${script}: ${(e as Error).message.split('\n')[0]}\n(${script} --help says what it takes)\n`);
    process.exit(2);
  }
}
