/**
 * The working-day calendar and the deadlines of Decree 30/2020, as pure functions: days are
 * Vietnamese local days (UTC+7), weekends and the public holidays (Labour Code 2019, art. 112,
 * and the yearly notice on Tết) are not working days, compensatory Saturdays are.
 */
import t from 'tap';
import { isWorkingDayAt, issueDue, processingDue, receiptDue, workingCalendar } from '../../src/envelope/calendar.js';
import { endOfVnDay, vn } from '../helpers/lifecycle.js';

const cal = workingCalendar();
const due = (arrival: string, urgent = false, minutes = 30): string => receiptDue(cal, vn(arrival), urgent, minutes).toISOString();

t.test('receipt: by the end of the working day of arrival, local time', async (t) => {
  t.equal(due('2026-12-01 10:00'), endOfVnDay('2026-12-01'), 'Tuesday 10:00: Tuesday evening');
  t.equal(due('2026-12-01 00:00'), endOfVnDay('2026-12-01'), 'from the first minute of the day');
  t.equal(due('2026-12-01 23:59'), endOfVnDay('2026-12-01'), 'to the last');
  t.equal(endOfVnDay('2026-12-01'), '2026-12-01T16:59:59.999Z', '23:59:59.999 in Hà Nội is 16:59:59.999 UTC');
  t.equal(receiptDue(cal, new Date('2026-12-01T17:30:00Z'), false, 30).toISOString(), endOfVnDay('2026-12-02'), '17:30 UTC is already Wednesday in Viet Nam');
  t.equal(due('2026-12-04 16:59'), endOfVnDay('2026-12-04'), 'Friday: Friday, the weekend does not extend it');
  t.equal(due('2026-12-05 10:00'), endOfVnDay('2026-12-07'), 'Saturday: Monday');
  t.equal(due('2026-12-06 22:00'), endOfVnDay('2026-12-07'), 'Sunday: Monday');
});

t.test('receipt of urgent documents: the configured number of minutes, day or night, working day or not', async (t) => {
  t.equal(due('2026-12-01 10:00', true), vn('2026-12-01 10:30').toISOString());
  t.equal(due('2026-12-05 23:50', true), vn('2026-12-06 00:20').toISOString(), 'a Saturday night too');
  t.equal(due('2026-02-16 09:00', true, 15), vn('2026-02-16 09:15').toISOString(), 'during Tết too, with 15 minutes configured');
});

t.test('Tết Bính Ngọ 2026 (14-22/02) pushes a receipt to Monday 23/02', async (t) => {
  t.equal(due('2026-02-13 15:00'), endOfVnDay('2026-02-13'), 'Friday 13/02, the last working day before Tết: that day');
  t.equal(receiptDue(cal, new Date('2026-02-13T18:00:00Z'), false, 30).toISOString(), endOfVnDay('2026-02-23'), '01:00 local on 14/02 is Tết already');
  for (const day of ['2026-02-14', '2026-02-16', '2026-02-17', '2026-02-19', '2026-02-20', '2026-02-22']) {
    t.equal(due(`${day} 10:00`), endOfVnDay('2026-02-23'), `arrival ${day}: due 23/02`);
    t.notOk(isWorkingDayAt(cal, vn(`${day} 10:00`)), `${day} is not a working day`);
  }
  t.ok(isWorkingDayAt(cal, vn('2026-02-23 08:00')), '23/02 is');
});

t.test('other holidays and a compensatory Saturday', async (t) => {
  t.equal(due('2026-04-30 10:00'), endOfVnDay('2026-05-04'), '30/4 and 1/5 (Thursday, Friday), then the weekend: Monday 4/5');
  t.equal(due('2026-09-01 10:00'), endOfVnDay('2026-09-03'), '1-2/9: Thursday 3/9');
  t.equal(due('2025-12-31 10:00'), endOfVnDay('2025-12-31'), 'New Year\'s Eve is a working day');
  t.equal(due('2026-01-01 10:00'), endOfVnDay('2026-01-05'), '1-2/1/2026 off, then the weekend: Monday 5/1');
  t.equal(due('2025-04-26 10:00'), endOfVnDay('2025-04-26'), 'Saturday 26/4/2025 was worked (compensation): due that day');
  const configured = workingCalendar({ holidays: ['2026-12-01'] });
  t.equal(receiptDue(configured, vn('2026-12-01 10:00'), false, 30).toISOString(), endOfVnDay('2026-12-02'), 'a configured day off counts like a holiday');
  const replaced = workingCalendar({ replaceDefaults: true });
  t.equal(receiptDue(replaced, vn('2026-02-16 10:00'), false, 30).toISOString(), endOfVnDay('2026-02-16'), 'replaceDefaults drops the shipped list');
});

t.test('issue: by the end of the working day after signing', async (t) => {
  t.equal(issueDue(cal, '2026/12/01')?.toISOString(), endOfVnDay('2026-12-02'), 'signed Tuesday: Wednesday');
  t.equal(issueDue(cal, '2026/12/04')?.toISOString(), endOfVnDay('2026-12-07'), 'signed Friday: Monday');
  t.equal(issueDue(cal, '2026/12/05')?.toISOString(), endOfVnDay('2026-12-07'), 'signed Saturday: Monday');
  t.equal(issueDue(cal, '2026/02/12')?.toISOString(), endOfVnDay('2026-02-13'), 'signed the day before the last working day before Tết: that day');
  t.equal(issueDue(cal, '2026/02/13')?.toISOString(), endOfVnDay('2026-02-23'), 'signed on the last working day before Tết: 23/02');
  t.equal(issueDue(cal, '2025/04/25')?.toISOString(), endOfVnDay('2025-04-26'), 'signed before a compensatory Saturday: that Saturday');
  t.equal(issueDue(cal, '2026-12-01'), undefined, 'not an edXML date: no deadline');
});

t.test('processing: by the end of DueDate, whatever day it is', async (t) => {
  t.equal(processingDue('2026/12/04')?.toISOString(), endOfVnDay('2026-12-04'));
  t.equal(processingDue('2026/12/05')?.toISOString(), endOfVnDay('2026-12-05'), 'a DueDate on a Saturday is that Saturday');
  t.equal(processingDue(undefined), undefined, 'no DueDate: no deadline');
  t.equal(processingDue(null), undefined);
  t.equal(processingDue('04/12/2026'), undefined, 'a date not in edXML form: no deadline');
});
