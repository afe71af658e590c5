// npm run test:fuzz -- [--seed N] [--cases M] [--only cat,cat] [--replay kind:seed]... [--range a:b]
//   [--jobs J] [--batch B] [--timeout ms] [--memory MiB] [--valgrind] [--skip-known] [--strict]
//   [--out dir] [--verbose]
// --replay runs the given cases in one child, in order (a failure's case.json lists the cases its
// child ran before it, when one needs its predecessors to fail).
// Exit status 1 when a case crashed, hung, escaped untyped or drew a valgrind report (failures of
// KNOWN_CRASHES kinds only with --strict).
import { DEFAULTS } from './config.js';
import { formatReport, runFuzz, type FuzzOptions } from './runner.js';
import { CATEGORIES } from './types.js';

function parse(argv: string[]): FuzzOptions & { strict: boolean } {
  const o: FuzzOptions & { strict: boolean } = { seed: Math.floor(Math.random() * 2 ** 32), cases: -1, strict: false, log: (l) => console.log(l) };
  const replay: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new RangeError(`${arg} needs a value`);
      return v;
    };
    const int = (name: string) => {
      const v = Number(value());
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer`);
      return v;
    };
    switch (arg) {
      case '--seed': o.seed = int('--seed'); break;
      case '--cases': o.cases = int('--cases'); break;
      case '--only': {
        const only = value().split(',');
        for (const c of only) if (!(CATEGORIES as readonly string[]).includes(c)) throw new RangeError(`--only: unknown category '${c}' (${CATEGORIES.join(', ')})`);
        o.only = only as (typeof CATEGORIES[number])[];
        break;
      }
      case '--replay': replay.push(value()); break;
      case '--jobs': o.jobs = int('--jobs'); break;
      case '--batch': o.batch = int('--batch'); break;
      case '--timeout': o.timeoutMs = int('--timeout'); break;
      case '--memory': o.memoryMiB = int('--memory'); break;
      case '--valgrind': o.valgrind = true; break;
      case '--range': {
        const m = /^(\d+):(\d+)$/.exec(value());
        if (!m) throw new RangeError('--range wants from:to (plan positions)');
        o.range = [Number(m[1]), Number(m[2])];
        break;
      }
      case '--verbose': case '-v': o.verbose = true; break;
      case '--skip-known': o.skipKnown = true; break;
      case '--strict': o.strict = true; break;
      case '--out': o.out = value(); break;
      case '--help': case '-h':
        console.log('npm run test:fuzz -- [--seed N] [--cases M] [--only checkpoint,image,idx,cache,ops] [--replay kind:seed]\n' +
          '  [--range from:to] [--jobs J] [--batch B] [--timeout ms] [--memory MiB] [--valgrind] [--skip-known] [--strict]\n' +
          '  [--out dir] [--verbose]');
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default: throw new RangeError(`unknown argument '${arg}' (see --help)`);
    }
  }
  if (o.cases < 0) o.cases = o.valgrind ? DEFAULTS.valgrind.cases : DEFAULTS.cases;
  if (replay.length) o.replay = replay;
  return o;
}

const options = parse(process.argv.slice(2));
console.log(`[fuzz] seed ${options.seed}, ${options.replay ? `${options.replay.length} replayed` : options.cases} cases` +
  `${options.only ? ` (${options.only.join(', ')})` : ''}${options.valgrind ? ', under valgrind' : ''}`);
const report = await runFuzz(options);
console.log('\n' + formatReport(report));
const failing = options.strict ? report.failures : report.unexpected;
process.exitCode = failing.length > 0 ? 1 : 0;
