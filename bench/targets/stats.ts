/**
 * The figures of issue 15 as rows: what was measured, its raw baseline from the same run, the
 * ratio the target is about. Several runs (LT_BENCH_RUNS) give each value as median (min–max):
 * on a 2-core machine one run's noise can decide "met".
 */
import { table } from '../harness.js';

export interface Sample {
  /** The row: "RSA-2048 sign 2 MB". */
  name: string;
  measured: number;
  baseline: number;
  /** The ratio the target is about (measured / baseline, or its inverse for rates). */
  ratio: number;
  /** The baseline's own ratio, when the target is against something else (RSS per packet byte). */
  baselineRatio?: number;
}

/** How a table without a target of its own prints its figures: a diagnosis of another figure. */
export interface Units {
  unit: (value: number) => string;
  ratioUnit: (ratio: number) => string;
}

export interface Target {
  /** What the target is about: the ratio (default), or the measured value itself (an absolute target). */
  judge?: 'ratio' | 'measured';
  /** How it is judged. */
  compare: '<=' | '>=';
  limit: number;
  /** The target as issue 15 words it: "≥ 25 % of raw". */
  text: string;
  /** Measured and baseline as printed: "812 ms", "64.2 MB". */
  unit: (value: number) => string;
  /** The ratio as printed: "0.31", "2.4 ×". */
  ratioUnit: (ratio: number) => string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function spread(values: readonly number[], show: (v: number) => string): string {
  if (values.length === 1) return show(values[0] as number);
  return `${show(median(values))} (${show(Math.min(...values))}–${show(Math.max(...values))})`;
}

/** One table of a figure: a row per name, its runs folded into median (min–max); met is judged on the median. */
export function figureTable(title: string, runs: readonly Sample[][], target: Target | Units): string {
  const names = [...new Set(runs.flat().map((s) => s.name))];
  const rows = names.map((name) => {
    const samples = runs.flatMap((run) => run.filter((s) => s.name === name));
    const judged = 'compare' in target ? median(samples.map((s) => (target.judge === 'measured' ? s.measured : s.ratio))) : 0;
    const met = 'compare' in target ? (target.compare === '<=' ? judged <= target.limit : judged >= target.limit) : undefined;
    return {
      figure: name,
      measured: spread(samples.map((s) => s.measured), target.unit),
      'raw baseline': spread(samples.map((s) => s.baseline), target.unit),
      ratio: spread(samples.map((s) => s.ratio), target.ratioUnit),
      ...(samples.some((s) => s.baselineRatio !== undefined) ? { 'raw ratio': spread(samples.map((s) => s.baselineRatio ?? Number.NaN), target.ratioUnit) } : {}),
      ...('compare' in target ? { target: target.text, met: met ? 'yes' : 'NO' } : {}),
    };
  });
  const runsNote = runs.length > 1 ? ` (${runs.length} runs: median (min–max))` : '';
  return `${title}${runsNote}\n${table(rows)}\n`;
}

export const ms = (v: number): string => `${v.toFixed(v < 10 ? 1 : 0)} ms`;
export const mb = (v: number): string => `${(v / 1e6).toFixed(1)} MB`;
export const times = (v: number): string => `${v.toFixed(2)} ×`;
export const percent = (v: number): string => `${(v * 100).toFixed(0)} %`;
export const perSecond = (v: number): string => `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)}/s`;
