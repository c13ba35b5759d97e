/**
 * What `lienthong edge check` and `hub check` report: one row per dependency, ok, problem (with
 * how to fix it) or skipped (not configured, or not checkable from here, with why), and the
 * table people read. Pure: the probes that fill the rows live beside this module.
 */
export type CheckStatus = 'ok' | 'problem' | 'skipped';

export interface CheckRow {
  /** What was checked, e.g. "broker connection". */
  name: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** How to fix it; only a problem has one. */
  fix?: string;
}

export function ok(name: string, detail: string): CheckRow {
  return { name, status: 'ok', detail };
}

export function problem(name: string, detail: string, fix: string): CheckRow {
  return { name, status: 'problem', detail, fix };
}

export function skipped(name: string, detail: string): CheckRow {
  return { name, status: 'skipped', detail };
}

/** 0 when nothing is a problem, 1 otherwise (a skipped row is not a problem). */
export function checkExitCode(rows: readonly CheckRow[]): 0 | 1 {
  return rows.some((r) => r.status === 'problem') ? 1 : 0;
}

/**
 * The table for people: check, status and what was found in aligned columns, each problem's fix
 * on the line below it, then a one-line verdict. Long texts are not cut: a fix is a command to copy.
 */
export function renderCheckTable(rows: readonly CheckRow[]): string {
  const nameWidth = Math.max('CHECK'.length, ...rows.map((r) => r.name.length));
  const statusWidth = Math.max('STATUS'.length, ...rows.map((r) => r.status.length));
  const indent = ' '.repeat(nameWidth + statusWidth + 4);
  const lines = [`${'CHECK'.padEnd(nameWidth)}  ${'STATUS'.padEnd(statusWidth)}  DETAIL / FIX`];
  for (const row of rows) {
    lines.push(`${row.name.padEnd(nameWidth)}  ${row.status.padEnd(statusWidth)}  ${row.detail}`);
    if (row.fix) lines.push(`${indent}fix: ${row.fix}`);
  }
  const problems = rows.filter((r) => r.status === 'problem').length;
  const skippedRows = rows.filter((r) => r.status === 'skipped').length;
  lines.push('');
  lines.push(
    problems === 0
      ? `all ${rows.length - skippedRows} checks ok${skippedRows ? ` (${skippedRows} skipped)` : ''}`
      : `${problems} problem${problems > 1 ? 's' : ''} found (of ${rows.length} checks${skippedRows ? `, ${skippedRows} skipped` : ''})`,
  );
  return `${lines.join('\n')}\n`;
}

/** A check that throws instead of returning its row still gives a row: the error's words, as a problem. */
export async function guarded(name: string, fix: string, probe: () => Promise<CheckRow | CheckRow[]>): Promise<CheckRow[]> {
  try {
    const result = await probe();
    return Array.isArray(result) ? result : [result];
  } catch (error) {
    return [problem(name, (error as Error).message, fix)];
  }
}
