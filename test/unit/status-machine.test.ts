/**
 * The life of one (document, recipient) pair: what each status may follow, as Decree 30/2020
 * and the peers' practice describe it.
 */
import t from 'tap';
import {
  INITIAL_STATE,
  replay,
  transition,
  type DeliveryEvent,
  type DeliveryState,
  type Stage,
} from '../../src/envelope/index.js';

const ALL_EVENTS: readonly DeliveryEvent[] = ['delivered', 'bounced', '01', '02', '03', '04', '05', '06', '13', '15', '16'];

/** The state after a history that must be legal throughout. */
function after(...events: DeliveryEvent[]): DeliveryState {
  const result = replay(events);
  if (result.outcome === 'illegal') throw new Error(`history ${events.join(' → ')} is illegal: ${result.reason}`);
  return result.state;
}
const at = (stage: Stage, recall: DeliveryState['recall'] = 'none'): DeliveryState => ({ stage, recall });

t.test('the happy path: sent, delivered, 01 arrived, 03 accepted, 04 assigned, 05 processing, 06 completed', async (t) => {
  let state = INITIAL_STATE;
  for (const event of ['delivered', '01', '03', '04', '05', '06'] as const) {
    const next = transition(state, event);
    t.equal(next.outcome, 'applied', `${event} is applied`);
    t.equal(next.state.stage, event, `the stage is now ${event}`);
    state = next.state;
  }
  t.same(state, { stage: '06', recall: 'none' });
  t.same(replay(['delivered', '01', '03', '04', '05', '06']), { outcome: 'applied', state: { stage: '06', recall: 'none' } }, 'replay agrees');
});

t.test('a clerk may accept and start processing at once (03 then 05), and complete without assigning', async (t) => {
  t.equal(after('01', '03', '05').stage, '05');
  t.equal(after('01', '03', '06').stage, '06');
  t.equal(after('delivered', '01', '03', '04', '06').stage, '06');
});

t.test('the recipient\'s 01 may arrive before the hub\'s delivery notice', async (t) => {
  t.same(transition(INITIAL_STATE, '01'), { outcome: 'applied', state: at('01') });
  t.same(transition(at('01'), 'delivered'), { outcome: 'stale', state: at('01') }, 'the late delivery notice is stale');
});

t.test('06 completed before 03 accepted is illegal', async (t) => {
  for (const stage of ['sent', 'delivered', '01'] as const) {
    const result = transition(at(stage), '06');
    t.equal(result.outcome, 'illegal', `06 from ${stage}`);
    if (result.outcome === 'illegal') t.match(result.reason, /accepted \(03\)/, 'the reason says it needs 03');
    t.same(result.state, at(stage), 'the state is unchanged');
  }
  for (const event of ['04', '05'] as const) t.equal(transition(at('01'), event).outcome, 'illegal', `${event} from 01`);
  t.same(replay(['delivered', '01', '06', '03']).outcome, 'illegal', 'replay stops at the first illegal status');
});

t.test('03 accepted needs 01 arrived first', async (t) => {
  t.equal(transition(at('delivered'), '03').outcome, 'illegal');
  t.equal(transition(INITIAL_STATE, '03').outcome, 'illegal');
});

t.test('a rejected (02) document admits nothing more', async (t) => {
  for (const before of [[], ['delivered'], ['01']] as DeliveryEvent[][]) {
    const rejected = after(...before, '02');
    t.equal(rejected.stage, '02', `02 after ${before.join(', ') || 'sending'}`);
  }
  const rejected = after('01', '02');
  for (const event of ALL_EVENTS) {
    const result = transition(rejected, event);
    if (event === '02') t.equal(result.outcome, 'duplicate', 'the same 02 again is a duplicate');
    else t.equal(result.outcome, 'illegal', `${event} after 02 is illegal`);
    t.same(result.state, rejected, 'the state is unchanged');
  }
  t.equal(transition(at('03'), '02').outcome, 'illegal', 'an accepted document can no longer be rejected');
});

t.test('a bounced document admits nothing more', async (t) => {
  const bounced = after('bounced');
  for (const event of ALL_EVENTS) {
    t.equal(transition(bounced, event).outcome, event === 'bounced' ? 'duplicate' : 'illegal', `${event} after bounce`);
  }
});

t.test('a completed (06) document admits nothing more', async (t) => {
  const done = after('01', '03', '06');
  for (const event of ['delivered', '01', '02', '03', '04', '05'] as const) {
    t.equal(transition(done, event).outcome, 'illegal', `${event} after 06`);
  }
  t.equal(transition(done, '06').outcome, 'duplicate', '06 again is a duplicate');
});

t.test('a status for a stage already passed is stale, not illegal (packets overtake each other)', async (t) => {
  t.same(transition(at('03'), '01'), { outcome: 'stale', state: at('03') }, 'a late 01 after 03');
  t.same(transition(at('05'), '01'), { outcome: 'stale', state: at('05') }, 'a late 01 after 05');
  t.same(transition(at('05'), '03'), { outcome: 'stale', state: at('05') }, 'a late 03 after 05');
  t.same(transition(at('05'), '04'), { outcome: 'stale', state: at('05') }, 'a late 04 after 05');
  t.same(transition(at('03'), 'delivered'), { outcome: 'stale', state: at('03') }, 'a late delivery notice');
});

t.test('the same status twice is a duplicate and changes nothing', async (t) => {
  for (const [state, event] of [
    [at('delivered'), 'delivered'],
    [at('01'), '01'],
    [at('03'), '03'],
    [at('06'), '06'],
  ] as const) {
    t.same(transition(state, event), { outcome: 'duplicate', state }, `${event} twice`);
  }
});

t.test('04 assigned and 05 processing may repeat (re-assignment, progress reports)', async (t) => {
  t.same(transition(at('04'), '04'), { outcome: 'applied', state: at('04') });
  t.same(transition(at('05'), '05'), { outcome: 'applied', state: at('05') });
  t.same(replay(['01', '03', '04', '04', '05', '05', '05', '06']), { outcome: 'applied', state: at('06') });
});

t.test('a recall (13) may be requested at every stage before completion', async (t) => {
  for (const history of [[], ['delivered'], ['01'], ['01', '03'], ['01', '03', '04'], ['01', '03', '04', '05']] as DeliveryEvent[][]) {
    const before = after(...history);
    const result = transition(before, '13');
    t.same(result, { outcome: 'applied', state: { stage: before.stage, recall: 'requested' } }, `13 at ${before.stage}`);
  }
  t.same(transition(at('03', 'requested'), '13'), { outcome: 'duplicate', state: at('03', 'requested') }, '13 twice is a duplicate');
});

t.test('a recall after rejection (02) or bounce is illegal', async (t) => {
  for (const stage of ['02', 'bounced'] as const) {
    const result = transition(at(stage), '13');
    t.equal(result.outcome, 'illegal', `13 at ${stage}`);
    if (result.outcome === 'illegal') t.match(result.reason, /cannot be recalled/);
  }
});

t.test('a recall reaching a completed document (06) is answered 16, never 15', async (t) => {
  t.same(transition(at('06'), '13'), { outcome: 'applied', state: at('06', 'requested') }, 'the request is recorded');
  const accepted = transition(at('06', 'requested'), '15');
  t.equal(accepted.outcome, 'illegal', '15 on a completed document');
  if (accepted.outcome === 'illegal') t.match(accepted.reason, /completed document cannot be taken back/);
  t.same(transition(at('06', 'requested'), '16'), { outcome: 'applied', state: at('06', 'refused') }, '16 refuses it');
});

t.test('15 agreed and 16 refused answer a pending recall, and nothing else', async (t) => {
  for (const stage of ['sent', '01', '03', '05', '06'] as const) {
    for (const answer of ['15', '16'] as const) {
      const result = transition(at(stage), answer);
      t.equal(result.outcome, 'illegal', `${answer} without a 13, at ${stage}`);
      if (result.outcome === 'illegal') t.match(result.reason, /none is pending/);
    }
  }
  t.same(transition(at('03', 'requested'), '15'), { outcome: 'applied', state: at('03', 'recalled') });
  t.same(transition(at('03', 'requested'), '16'), { outcome: 'applied', state: at('03', 'refused') });
});

t.test('once recalled (15), the document admits no further action', async (t) => {
  const recalled = after('01', '03', '13', '15');
  t.same(recalled, at('03', 'recalled'));
  for (const event of ['01', '02', '03', '04', '05', '06', '13', '16'] as const) {
    const result = transition(recalled, event);
    t.equal(result.outcome, 'illegal', `${event} after 15`);
    t.same(result.state, recalled, 'the state is unchanged');
  }
  t.equal(transition(recalled, '15').outcome, 'duplicate', '15 twice is a duplicate');
});

t.test('after a refused recall (16) processing continues', async (t) => {
  const refused = after('01', '03', '13', '16');
  t.same(refused, at('03', 'refused'));
  t.same(replay(['04', '05', '06'], refused), { outcome: 'applied', state: at('06', 'refused') });
  t.equal(transition(refused, '16').outcome, 'duplicate', '16 twice is a duplicate');
  t.equal(transition(refused, '15').outcome, 'illegal', 'a 15 needs a new 13');
  t.same(transition(refused, '13'), { outcome: 'applied', state: at('03', 'requested') }, 'the sender may ask again');
});

t.test('transition never changes the state it is given', async (t) => {
  const state = at('03');
  const frozen = Object.freeze({ ...state });
  for (const event of ALL_EVENTS) t.doesNotThrow(() => transition(frozen, event), event);
  t.same(frozen, state);
});
