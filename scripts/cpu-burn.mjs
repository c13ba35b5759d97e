#!/usr/bin/env node
// Keeps N threads busy, to run the test suite on a loaded machine as CI machines are (issue 10:
// the suite must pass at a load average of 10 on two cores, i.e. about 8 spinners besides it).
//
//   node scripts/cpu-burn.mjs 8                 spin until Ctrl-C / SIGTERM
//   node scripts/cpu-burn.mjs 8 -- npm test     spin while the command runs, then print its wall
//                                               time and the load average seen; exit with its code
//
// Run it around the suite (the second form), not in another terminal: with Linux's autogroup
// scheduling each session shares the CPU as one, so spinners in another session take a fixed
// share from the suite however many they are, where on a CI machine they compete thread by thread.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';

const [count, separator, ...command] = process.argv.slice(2);
const spinners = Number(count);
if (!Number.isInteger(spinners) || spinners < 1 || (separator !== undefined && (separator !== '--' || command.length === 0))) {
  console.error('usage: node scripts/cpu-burn.mjs N [-- command args...]');
  process.exit(2);
}

const spin = 'for (;;) {}';
const workers = Array.from({ length: spinners }, () => new Worker(spin, { eval: true }));
const stopAll = () => Promise.all(workers.map((w) => w.terminate()));
console.error(`cpu-burn: ${spinners} busy threads (pid ${process.pid})`);

if (command.length === 0) {
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => stopAll().then(() => process.exit(0)));
} else {
  // The load average moves slowly (1-minute mean): sample it along the run rather than trust one reading.
  const samples = [];
  const sampler = setInterval(() => samples.push(loadavg()[0]), 10_000);
  const started = Date.now();
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => child.kill(signal));
  child.once('exit', async (code, signal) => {
    clearInterval(sampler);
    await stopAll();
    const seconds = (Date.now() - started) / 1000;
    const mean = samples.length > 0 ? samples.reduce((a, b) => a + b, 0) / samples.length : loadavg()[0];
    const low = samples.length > 0 ? Math.min(...samples) : mean;
    const high = samples.length > 0 ? Math.max(...samples) : mean;
    console.error(
      `cpu-burn: "${command.join(' ')}" ${signal ? `killed by ${signal}` : `exited ${code}`} after ${seconds.toFixed(0)} s; ` +
        `1-minute load average ${mean.toFixed(1)} on average (${low.toFixed(1)}–${high.toFixed(1)}, ${samples.length} samples)`,
    );
    process.exit(code ?? 1);
  });
}
