/**
 * The life of one (document, recipient) pair, used alike by the sender's edge, the recipient's
 * edge and the hub (design.md, "Status tracking"):
 *
 *   sent ─▶ delivered ─▶ 01 arrived ─▶ 03 accepted ─▶ 04 assigned ─▶ 05 processing ─▶ 06 completed
 *               └─▶ bounced     └─▶ 02 rejected (reason)
 *   any state from sent to 06 ── 13 recall requested ─▶ 15 recalled | 16 recall refused (reason)
 *
 * A recall may reach a document its recipient has already completed (the sender's view lags):
 * the recipient then answers 16, and 15 is not allowed on a completed document.
 *
 * Pure: a state and an event in, an outcome out. Status packets can overtake each other (a
 * late 01 after a 03), so an event for a stage already passed is `stale`, not illegal; the
 * same status twice is a `duplicate` except 04 and 05, which may repeat (re-assignment,
 * progress reports).
 */
import type { StatusCode } from './types.js';

export type Stage = 'sent' | 'delivered' | 'bounced' | '01' | '02' | '03' | '04' | '05' | '06';
export type RecallState = 'none' | 'requested' | 'refused' | 'recalled';

export interface DeliveryState {
  stage: Stage;
  recall: RecallState;
}

export type DeliveryEvent = 'delivered' | 'bounced' | StatusCode;

export type TransitionOutcome =
  | { outcome: 'applied'; state: DeliveryState }
  | { outcome: 'duplicate' | 'stale'; state: DeliveryState }
  | { outcome: 'illegal'; state: DeliveryState; reason: string };

export const INITIAL_STATE: DeliveryState = { stage: 'sent', recall: 'none' };

/** Position along the happy path; 02 and bounced are terminal side branches. */
const RANK: Record<Stage, number> = { sent: 0, delivered: 1, '01': 2, '03': 3, '04': 4, '05': 5, '06': 6, '02': 9, bounced: 9 };

/** Which stages may follow which. */
const NEXT: Record<Stage, readonly Stage[]> = {
  sent: ['delivered', 'bounced', '01', '02'],
  delivered: ['01', '02'],
  '01': ['02', '03'],
  '03': ['04', '05', '06'],
  '04': ['04', '05', '06'],
  '05': ['05', '06'],
  '06': [],
  '02': [],
  bounced: [],
};

const REPEATABLE: ReadonlySet<Stage> = new Set(['04', '05']);
const RECALLABLE: ReadonlySet<Stage> = new Set(['sent', 'delivered', '01', '03', '04', '05', '06']);

const STAGE_NAME: Record<Stage, string> = {
  sent: 'sent',
  delivered: 'delivered',
  bounced: 'bounced',
  '01': 'arrived (01)',
  '02': 'rejected (02)',
  '03': 'accepted (03)',
  '04': 'assigned (04)',
  '05': 'processing (05)',
  '06': 'completed (06)',
};

export function describeStage(stage: Stage): string {
  return STAGE_NAME[stage];
}

export function transition(state: DeliveryState, event: DeliveryEvent): TransitionOutcome {
  switch (event) {
    case '13':
      return recallRequest(state);
    case '15':
    case '16':
      return recallAnswer(state, event);
    default:
      return progress(state, event);
  }
}

function illegal(state: DeliveryState, reason: string): TransitionOutcome {
  return { outcome: 'illegal', state, reason };
}

function progress(state: DeliveryState, stage: Stage): TransitionOutcome {
  if (state.recall === 'recalled') {
    return illegal(state, `the document was recalled; status ${describeStage(stage)} can no longer be given`);
  }
  if (state.stage === stage) {
    return REPEATABLE.has(stage) ? { outcome: 'applied', state: { ...state } } : { outcome: 'duplicate', state };
  }
  if (NEXT[state.stage].includes(stage)) return { outcome: 'applied', state: { ...state, stage } };
  if (state.stage === '02' || state.stage === 'bounced' || state.stage === '06') {
    return illegal(state, `the document is already ${describeStage(state.stage)}; no further status is allowed`);
  }
  if (RANK[stage] < RANK[state.stage]) return { outcome: 'stale', state };
  if (stage === '06' || stage === '04' || stage === '05') {
    return illegal(state, `${describeStage(stage)} is not allowed before the document is accepted (03); it is ${describeStage(state.stage)}`);
  }
  return illegal(state, `${describeStage(stage)} cannot follow ${describeStage(state.stage)}`);
}

function recallRequest(state: DeliveryState): TransitionOutcome {
  if (state.recall === 'requested') return { outcome: 'duplicate', state };
  if (state.recall === 'recalled') return illegal(state, 'the document is already recalled');
  if (!RECALLABLE.has(state.stage)) {
    return illegal(state, `a document that is ${describeStage(state.stage)} cannot be recalled`);
  }
  return { outcome: 'applied', state: { ...state, recall: 'requested' } };
}

function recallAnswer(state: DeliveryState, code: '15' | '16'): TransitionOutcome {
  const target: RecallState = code === '15' ? 'recalled' : 'refused';
  if (state.recall === target) return { outcome: 'duplicate', state };
  if (state.recall !== 'requested') {
    return illegal(state, `status ${code} answers a recall request (13), and none is pending`);
  }
  if (code === '15' && state.stage === '06') {
    return illegal(state, 'a completed document cannot be taken back; answer the recall with 16 and the reason');
  }
  return { outcome: 'applied', state: { ...state, recall: target } };
}

/** Replay a whole history, stopping at the first illegal event. */
export function replay(events: readonly DeliveryEvent[], from: DeliveryState = INITIAL_STATE): TransitionOutcome {
  let current: TransitionOutcome = { outcome: 'applied', state: from };
  for (const event of events) {
    const next = transition(current.state, event);
    if (next.outcome === 'illegal') return next;
    current = next;
  }
  return current;
}
