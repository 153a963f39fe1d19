// `knetsim bench [--suite S[,S]] [--services 1000,10000,30000] [--json FILE] [--html FILE] [--quick]`
// and `npm run bench`: runs the suites (all by default, the kernel before the modes so its
// cost model can price the modes table), prints the report as Markdown, writes JSON and
// HTML where asked, and bench/RESULTS.md on a full `npm run bench`.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { kernelSuite } from './kernel-suite';
import { progressBar } from './progress-bar';
import { type BenchReport, reportHtml, reportMarkdown, type SuiteResult } from './report';
import { cniSuite, dnsSuite, engineSuite, modesSuite, type SuiteOptions } from './suites';
import { targetsSuite } from './targets-suite';

const SUITES = ['targets', 'kernel', 'engine', 'modes', 'cni', 'dns'] as const;
type SuiteName = (typeof SUITES)[number];

function usage(message: string): never {
  process.stderr.write(`knetsim bench: ${message}\n`);
  process.exit(2);
}

function parse(argv: readonly string[]) {
  const out = {
    suites: [...SUITES] as SuiteName[],
    services: undefined as number[] | undefined,
    json: '',
    html: '',
    quick: false,
    results: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') out.quick = true;
    else if (a === '--suite') {
      const names = value().split(',');
      if (names.includes('all')) continue;
      for (const n of names)
        if (!(SUITES as readonly string[]).includes(n))
          usage(`--suite: "${n}" is not one of ${SUITES.join(', ')}, all`);
      out.suites = SUITES.filter((s) => names.includes(s));
    } else if (a === '--services') {
      const list = value()
        .split(',')
        .map((x) => Number(x.replaceAll('_', '')));
      if (list.some((x) => !Number.isInteger(x) || x < 1 || x > 100_000))
        usage('--services: give counts from 1 to 100000, comma-separated');
      out.services = list;
    } else if (a === '--json') out.json = value();
    else if (a === '--html') out.html = value();
    else if (a === '--results') out.results = value();
    else usage(`unknown option "${a}"`);
  }
  return out;
}

const args = parse(process.argv.slice(2));
const root = process.env.KNETSIM_ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const progress = progressBar();
const options: SuiteOptions = {
  quick: args.quick,
  services: args.services ?? (args.quick ? [1_000] : [1_000, 10_000, 30_000]),
  // Loading 10,000 Services with iptables-nft-restore takes minutes here: the kernel stops at 5,000 unless asked.
  kernelServices: args.services ?? (args.quick ? [1_000] : [1_000, 5_000]),
  root,
  progress,
};
const results: SuiteResult[] = [];
let costModel: SuiteOptions['costModel'];
for (const name of args.suites) {
  const o = costModel ? { ...options, costModel } : options;
  if (name === 'targets') results.push(await targetsSuite(o));
  else if (name === 'kernel') {
    const k = await kernelSuite(o);
    costModel = k.costModel;
    results.push(k);
  } else if (name === 'engine') results.push(await engineSuite(o));
  else if (name === 'modes') results.push(await modesSuite(o));
  else if (name === 'cni') results.push(await cniSuite(o));
  else results.push(await dnsSuite(o));
}
progress.done();

const cpuModel = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
const report: BenchReport = {
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  machine: `${cpus().length} CPUs, ${cpuModel}, node ${process.version}, 1-minute load average ${loadavg()[0]!.toFixed(2)}`,
  quick: args.quick,
  suites: results,
};
const markdown = reportMarkdown(report, [
  'Written by `knetsim bench` / `npm run bench` (bench/main.ts); one run on one machine, reported, never asserted.',
  '',
]);
process.stdout.write(markdown);
if (args.json) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
if (args.html) writeFileSync(args.html, reportHtml(report));
// npm run bench (bin/bench.js) names the results file; a full run of every suite refreshes it.
const resultsFile =
  args.results ||
  (!args.quick && args.suites.length === SUITES.length ? (process.env.KNETSIM_BENCH_RESULTS ?? '') : '');
if (resultsFile) {
  writeFileSync(resultsFile, markdown);
  process.stderr.write(`wrote ${resultsFile}\n`);
}
