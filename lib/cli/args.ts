// Argument parsing shared by the commands: node:util parseArgs in strict mode, with every
// problem turned into a one-line UsageError (exit status 2).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MAX_THREADS, setNumThreads } from '../device.js';
import { deviceName, type DeviceName } from '../device_name.js';

/** A bad command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** A token that is a negative number (`-1`, `-0.5`, `-.5`, `-1e3`, `-Infinity`), not a flag. */
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

/**
 * `--lr -1` as `--lr=-1`: parseArgs refuses a value that starts with '-' as ambiguous, but a
 * negative number after a flag that takes a value is that flag's value; the flag's own range check
 * then names it.
 */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const long = /^--([^=]+)$/.exec(arg)?.[1];
    const short = /^-([A-Za-z])$/.exec(arg)?.[1];
    const name = long ?? (short !== undefined ? Object.keys(options).find((k) => options[k]!.short === short) : undefined);
    if (name !== undefined && Object.hasOwn(options, name) && options[name]!.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

export function parse(command: string, argv: string[], options: Options, allowPositionals = false): Parsed {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals }) as Parsed;
  } catch (e) {
    // parseArgs messages can span lines and name internals; keep the first line, add the way out.
    const first = (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(`alexnet ${command}: ${first} (see alexnet ${command} --help)`);
  }
}

function fail(command: string, message: string): never {
  throw new UsageError(`alexnet ${command}: ${message}`);
}

export function intFlag(command: string, name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max)
    fail(command, `--${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got ${JSON.stringify(value)}`);
  return n;
}

export function numberFlag(command: string, name: string, value: unknown, min = -Infinity): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < min)
    fail(command, `--${name} must be a number >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** --threads N: the CPU backend's compute threads, the same flag for every command that computes. */
export const THREADS_OPTION = { threads: { type: 'string' } } as const;
/** The help line, its description starting at `column` like the command's other lines. */
export function threadsHelp(column: number): string {
  return `  ${'--threads N'.padEnd(column)}CPU compute threads (default: OMP_NUM_THREADS, else every core)`;
}

/** Applies --threads when given (a usage error naming the flag when out of range). */
export function applyThreadsFlag(command: string, value: unknown): void {
  const threads = intFlag(command, 'threads', value, 1, MAX_THREADS);
  if (threads !== undefined) setNumThreads(threads);
}

/** A device name given on the command line (or in a --config file); a usage error naming the flag when malformed. */
export function deviceFlag(command: string, name: string, value: unknown): DeviceName | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(command, `--${name} must be a device name, got ${JSON.stringify(value)}`);
  try {
    return deviceName(value, `--${name}`);
  } catch (e) {
    return fail(command, (e as Error).message);
  }
}

export function choiceFlag<T extends string>(command: string, name: string, value: unknown, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !choices.includes(value as T))
    fail(command, `--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

export function usage(command: string, message: string): never {
  fail(command, message);
}
