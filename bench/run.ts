/** `npm run bench`: every benchmark, figures printed; never part of the test run. */
import { benchCrypto } from './crypto.js';
import { benchExchange } from './exchange.js';

const only = process.argv.slice(2);
const benches: Array<[string, () => Promise<string>]> = [
  ['crypto', () => benchCrypto()],
  ['exchange', () => benchExchange()],
];

for (const [name, run] of benches) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`== ${name} ==`);
  console.log(await run());
}
