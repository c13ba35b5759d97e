/** `npm run bench`: every benchmark, figures printed; never part of the test run. */
import { benchBackup } from './backup.js';
import { benchCrypto } from './crypto.js';
import { benchExchange } from './exchange.js';
import { benchParsing } from './parsing.js';
import { benchRevocation } from './revocation.js';
import { benchTargets } from './targets.js';
import { benchUrgency } from './urgency.js';

const only = process.argv.slice(2);
const benches: Array<[string, () => Promise<string>]> = [
  ['backup', () => benchBackup(Number(process.env.LT_BENCH_BACKUP_DOCS ?? 2000))],
  ['crypto', () => benchCrypto()],
  ['exchange', () => benchExchange()],
  ['parsing', () => benchParsing()],
  ['revocation', () => benchRevocation()],
  ['targets', () => benchTargets()],
  ['urgency', () => benchUrgency(Number(process.env.LT_BENCH_BACKLOG ?? 10_000), Number(process.env.LT_BENCH_URGENT ?? 40))],
];

// The shipped units and image set glibc's allocator (README, "Memory allocator"); `npm run bench` does too.
console.log(`glibc malloc tunables: ${process.env.GLIBC_TUNABLES ?? "none (glibc's defaults)"}`);
for (const [name, run] of benches) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`== ${name} ==`);
  console.log(await run());
}
