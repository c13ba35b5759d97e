/**
 * The targets of issue 15, each figure next to its raw baseline measured in the same run, the
 * ratio the target is about, and whether it is met. LT_BENCH_RUNS=3 measures everything three
 * times and prints median (min–max). `npm run bench -- targets`; needs dist/ (npm run bench
 * builds it), GNU time, and the local RabbitMQ with its management API for the idle edge and
 * the exchange's peak RSS.
 */
import { openIdleBench } from './targets/edge-idle.js';
import { measureExchangePeakRss } from './targets/exchange-memory.js';
import { measurePeakRss } from './targets/memory.js';
import { measurePipeline } from './targets/pipeline.js';
import { measureSigning } from './targets/signing.js';
import { measureStartup } from './targets/startup.js';
import { figureTable, mb, ms, perSecond, percent, times, type Sample } from './targets/stats.js';

export async function benchTargets(runs = Number(process.env.LT_BENCH_RUNS ?? 1)): Promise<string> {
  const all = { signing: [] as Sample[][], rss: [] as Sample[][], exchangeRss: [] as Sample[][], help: [] as Sample[][], verify: [] as Sample[][], idle: [] as Sample[][], pipeline: [] as Sample[][], pipelineCpu: [] as Sample[][] };
  const idle = await openIdleBench();
  try {
    for (let run = 0; run < runs; run++) {
      all.signing.push(await measureSigning());
      all.rss.push(await measurePeakRss());
      all.exchangeRss.push(await measureExchangePeakRss());
      const startup = await measureStartup();
      all.help.push(startup.help);
      all.verify.push(startup.verify);
      all.idle.push(await idle.measure());
      const pipeline = await measurePipeline();
      all.pipeline.push(pipeline.rate);
      all.pipelineCpu.push(pipeline.cpu);
    }
  } finally {
    await idle.close();
  }
  return [
    figureTable('Sign and verify rate, share of raw node:crypto hashing + signing/verifying the same bytes', all.signing, {
      compare: '>=',
      limit: 0.25,
      text: '≥ 25 %',
      unit: perSecond,
      ratioUnit: percent,
    }),
    figureTable('Peak RSS of one CLI process, multiple of the packet size (raw: read the file, hash + sign/verify it)', all.rss, {
      compare: '<=',
      limit: 3,
      text: '≤ 3 × packet',
      unit: mb,
      ratioUnit: times,
    }),
    figureTable('Peak RSS (VmHWM) of each node of an exchange, hub and edges as processes, 01 back at the sender; multiple of the signed packet (raw: a bare Node.js process)', all.exchangeRss, {
      compare: '<=',
      limit: 3,
      text: '≤ 3 × packet',
      unit: mb,
      ratioUnit: times,
    }),
    figureTable('End to end, documents/s with the 01 back at the sender (raw: the same signs, verifies, SQLite commits and four confirmed hops without XML)', all.pipeline, {
      compare: '>=',
      limit: 0.5,
      text: '≥ 50 %',
      unit: perSecond,
      ratioUnit: percent,
    }),
    figureTable('End to end, CPU per document against the raw pipeline, each one process: all its threads, and its main thread alone (where the difference goes; no target)', all.pipelineCpu, { unit: ms, ratioUnit: times }),
    figureTable('`lienthong --help` against `node -e 0`', all.help, { compare: '<=', limit: 2, text: '≤ 2 ×', unit: ms, ratioUnit: times }),
    figureTable('`lienthong verify` of 5 KB against `node -e 0`', all.verify, { compare: '<=', limit: 3, text: '≤ 3 ×', unit: ms, ratioUnit: times }),
    figureTable('Edge idle RSS (raw: `node -e "setInterval(…)"`)', all.idle, { judge: 'measured', compare: '<=', limit: 100e6, text: '≤ 100 MB', unit: mb, ratioUnit: times }),
  ].join('\n');
}
