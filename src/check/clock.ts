/**
 * Clock skew against the broker's machine. RabbitMQ tells its time in no AMQP field, but its
 * management API answers every request, even a refused one, with an HTTP Date header (to the
 * second): compared with the middle of the round trip here, it gives the skew within a second
 * or so. Signing times, deadlines and CRL freshness all read this machine's clock.
 */
import type { HttpFetch } from '../broker/management.js';
import { ok, problem, skipped, type CheckRow } from './rows.js';

/** Beyond this, signing times and receipt deadlines disagree visibly with the other nodes'. */
export const DEFAULT_MAX_SKEW_SECONDS = 30;

const NAME = 'clock skew';

/** `sentAt`/`receivedAt`: this machine's clock around the request; `serverDate`: the Date header. */
export function skewRow(serverDate: Date, sentAt: Date, receivedAt: Date, maxSkewSeconds: number, source: string): CheckRow {
  const local = (sentAt.getTime() + receivedAt.getTime()) / 2;
  // The header drops the milliseconds: up to one second of it is the header's, not the clocks'.
  const skew = (serverDate.getTime() + 500 - local) / 1000;
  const shown = `${Math.abs(skew).toFixed(0)} s ${skew > 0 ? 'behind' : 'ahead of'} ${source}`;
  const rounded = Math.abs(skew) < 1.5 ? `within a second of ${source}` : `this machine's clock is ${shown}`;
  if (Math.abs(skew) > maxSkewSeconds) {
    return problem(NAME, `${rounded} (more than ${maxSkewSeconds} s)`, 'synchronise the clocks of this machine and the broker with NTP (timedatectl set-ntp true; chrony or systemd-timesyncd)');
  }
  return ok(NAME, rounded);
}

/** Ask `url` for its time. Unanswered: skipped (the management API is not everyone's to reach). */
/** `httpFetch`: how to reach the management API (with the broker's CA when it serves https://). */
export async function clockSkewCheck(url: string | undefined, maxSkewSeconds: number, hint: string, httpFetch: HttpFetch = (u, init) => fetch(u, init)): Promise<CheckRow> {
  if (!url) return skipped(NAME, `no management URL to ask the broker's time; ${hint}`);
  const sentAt = new Date();
  let response: Response;
  try {
    response = await httpFetch(url, { method: 'GET', signal: AbortSignal.timeout(5000) });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    return skipped(NAME, `${url} did not answer (${cause}); ${hint}`);
  }
  const receivedAt = new Date();
  await response.body?.cancel();
  const header = response.headers.get('date');
  const serverDate = header ? new Date(header) : undefined;
  if (!serverDate || Number.isNaN(serverDate.getTime())) return skipped(NAME, `${url} answered without a Date header; ${hint}`);
  return skewRow(serverDate, sentAt, receivedAt, maxSkewSeconds, `the broker (${new URL(url).host})`);
}
