/**
 * Default public holidays for civil servants in Viet Nam (Labour Code 2019, art. 112, and the
 * Prime Minister's yearly notice on Tết and compensatory days). Dates are local (yyyy-mm-dd).
 *
 * To update: each year the Ministry of Home Affairs publishes the official days off (Tết
 * length, days swapped with a working Saturday); add them here, or list them in the
 * configuration (`calendar.holidays` / `calendar.workingDays`), which adds to this list.
 * 2027 is derived from the lunar calendar and the usual pattern: check it against the notice.
 */
export const VN_HOLIDAYS: readonly string[] = [
  // 2025
  '2025-01-01',
  '2025-01-25', '2025-01-26', '2025-01-27', '2025-01-28', '2025-01-29', '2025-01-30', '2025-01-31', '2025-02-01', '2025-02-02', // Tết Ất Tỵ
  '2025-04-07', // Giỗ Tổ Hùng Vương (10/3 âm lịch)
  '2025-04-30', '2025-05-01', '2025-05-02',
  '2025-09-01', '2025-09-02',
  // 2026
  '2026-01-01', '2026-01-02',
  '2026-02-14', '2026-02-15', '2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-02-21', '2026-02-22', // Tết Bính Ngọ
  '2026-04-27', // Giỗ Tổ Hùng Vương (26/4, a Sunday, moved to Monday)
  '2026-04-30', '2026-05-01',
  '2026-09-01', '2026-09-02',
  // 2027 (to confirm against the official notice)
  '2027-01-01',
  '2027-02-05', '2027-02-06', '2027-02-07', '2027-02-08', '2027-02-09', '2027-02-10', '2027-02-11', // Tết Đinh Mùi
  '2027-04-16', // Giỗ Tổ Hùng Vương
  '2027-04-30', '2027-05-03', // 1/5 is a Saturday
  '2027-09-02', '2027-09-03',
];

/** Saturdays worked in exchange for a bridging day off (from the same notices). */
export const VN_WORKING_DAYS: readonly string[] = ['2025-04-26'];
