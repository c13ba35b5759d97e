/**
 * The SDK's status words and lienthong's status codes (edxml.md, "Status packet"), both ways.
 * Pure.
 *
 * The SDK checks no status value (sdk-protocol.md §4.4). Its example's receive loop marks each
 * fetched document `done` (fetched and filed) or `fail` (could not); the gateway that uses it
 * also names `inbox`, `rejection`, `acceptance`, `assignment`, `processing` and `cancellation`.
 * `done` is therefore the hand-back of a fetched packet, never "completed (06)": a program
 * following the example would otherwise tell every sender "completed" the moment it downloads.
 * Completion is `completed` (or `06`); the edXML codes themselves are accepted too.
 */
import type { Stage, DeliveryState } from '../envelope/status-machine.js';
import type { StatusCode } from '../envelope/types.js';

/** The codes a recipient gives about a document it received (the edge's Lifecycle acts on them). */
type RecipientCode = Exclude<StatusCode, '01' | '13'>;

/**
 * The hand-back of a fetched packet (§4.4): the example's receive loop marks each one `done`
 * after filing it, and `fail` when it could not, so that it is listed again.
 */
export const TAKEN = { done: 'done', fail: 'fail' } as const;

/** What an updateStatus value asks for. */
export type SdkUpdate =
  /** done / fail: the program took the packet, or could not; nothing is sent to anyone. */
  | { kind: 'take'; outcome: 'done' | 'fail' }
  /** A recipient's action on a received document: a signed status to its sender. */
  | { kind: 'status'; code: RecipientCode }
  /** inbox / 01: the edge sent 01 by itself on arrival; nothing more to send. */
  | { kind: 'arrived' }
  /** cancellation: on a received document, agree to its recall (15); on a sent one, recall it (13). */
  | { kind: 'cancellation' };

const WORDS: Record<string, SdkUpdate> = {
  done: { kind: 'take', outcome: 'done' },
  fail: { kind: 'take', outcome: 'fail' },
  inbox: { kind: 'arrived' },
  '01': { kind: 'arrived' },
  rejection: { kind: 'status', code: '02' },
  acceptance: { kind: 'status', code: '03' },
  assignment: { kind: 'status', code: '04' },
  processing: { kind: 'status', code: '05' },
  completed: { kind: 'status', code: '06' },
  cancellation: { kind: 'cancellation' },
  '02': { kind: 'status', code: '02' },
  '03': { kind: 'status', code: '03' },
  '04': { kind: 'status', code: '04' },
  '05': { kind: 'status', code: '05' },
  '06': { kind: 'status', code: '06' },
  '15': { kind: 'status', code: '15' },
  '16': { kind: 'status', code: '16' },
};

/** The words updateStatus accepts, for error messages and the README. */
export const UPDATE_WORDS = Object.keys(WORDS);

/** What an updateStatus `status` value means (case and surrounding blanks ignored), or undefined. */
export function sdkUpdateOf(status: string): SdkUpdate | undefined {
  return WORDS[status.trim().toLowerCase()];
}

/** The SDK word of a status code a peer sent (a status list item's `status`). */
const CODE_WORDS: Record<string, string> = {
  '01': 'inbox',
  '02': 'rejection',
  '03': 'acceptance',
  '04': 'assignment',
  '05': 'processing',
  '06': 'completed',
  '13': 'cancellation',
  '15': 'cancellation-accepted',
  '16': 'cancellation-refused',
  bounced: 'rejection',
};

export function sdkStatusOfCode(code: string): string {
  return CODE_WORDS[code] ?? code;
}

/**
 * The SDK word of a delivery's state (a document list item's `status`): its stage, unless a
 * recall decided it (recalled, or a recall pending).
 */
export function sdkStatusOfState(state: DeliveryState): string {
  if (state.recall === 'recalled') return 'cancellation-accepted';
  if (state.recall === 'requested') return 'cancellation';
  const stage: Stage = state.stage;
  if (stage === 'sent' || stage === 'delivered') return stage;
  if (stage === 'bounced') return 'bounced';
  return CODE_WORDS[stage] ?? stage;
}

/** What each word means, in Vietnamese (the list items' `status_desc` when the peer said nothing). */
const DESCRIPTIONS: Record<string, string> = {
  sent: 'Đã gửi',
  queued: 'Đang chờ gửi',
  delivered: 'Đã chuyển đến',
  bounced: 'Bị trả lại',
  inbox: 'Đã đến',
  rejection: 'Từ chối tiếp nhận',
  acceptance: 'Đã tiếp nhận',
  assignment: 'Phân công',
  processing: 'Đang xử lý',
  completed: 'Hoàn thành',
  cancellation: 'Yêu cầu thu hồi',
  'cancellation-accepted': 'Đồng ý thu hồi',
  'cancellation-refused': 'Từ chối thu hồi',
};

export function sdkStatusDescription(word: string): string {
  return DESCRIPTIONS[word] ?? word;
}
