/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC:
 * `*`, numbers, ranges `a-b`, lists `a,b`, steps `*\/n` and `a-b/n`; day-of-week 0-7 (0 and 7 are
 * Sunday); month and weekday names (JAN, MON) are accepted. As in Vixie cron, when both
 * day-of-month and day-of-week are restricted a day matching either runs.
 */
interface Field {
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  {
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

export interface CronSchedule {
  readonly expression: string;
  /** The first time strictly after `afterMs` (ms since the epoch) the expression matches, to the minute. */
  next(afterMs: number): number;
}

function parseValue(text: string, field: Field, expression: string): number {
  const upper = text.toUpperCase();
  const named = field.names?.indexOf(upper) ?? -1;
  const value = named >= 0 ? named + field.min : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= field.min && value <= field.max)) {
    throw new SyntaxError(`cron '${expression}': '${text}' is not in ${field.min}-${field.max}`);
  }
  return value;
}

function parseField(text: string, field: Field, expression: string): { set: Set<number>; any: boolean } {
  const set = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!(Number.isInteger(step) && step >= 1))
      throw new SyntaxError(`cron '${expression}': bad step in '${part}'`);
    let from: number;
    let to: number;
    if (range === '*') {
      from = field.min;
      to = field.max;
    } else if (range?.includes('-')) {
      const [a, b] = range.split('-');
      from = parseValue(a ?? '', field, expression);
      to = parseValue(b ?? '', field, expression);
      if (from > to) throw new SyntaxError(`cron '${expression}': range '${range}' runs backwards`);
    } else {
      from = parseValue(range ?? '', field, expression);
      to = stepText === undefined ? from : field.max;
    }
    for (let v = from; v <= to; v += step) set.add(v);
  }
  return { set, any: text === '*' };
}

export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new SyntaxError(
      `cron '${expression}': expected 5 fields (minute hour day month weekday), got ${parts.length}`,
    );
  }
  const [minutes, hours, days, months, weekdays] = parts.map((p, i) => parseField(p, FIELDS[i]!, expression));
  if (weekdays!.set.has(7)) weekdays!.set.add(0);
  const dayMatches = (date: Date): boolean => {
    const dom = days!.set.has(date.getUTCDate());
    const dow = weekdays!.set.has(date.getUTCDay());
    if (days!.any && weekdays!.any) return true;
    if (days!.any) return dow;
    if (weekdays!.any) return dom;
    return dom || dow;
  };
  return {
    expression,
    next(afterMs: number): number {
      const date = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
      // Eight years covers every valid day-of-month/month combination (29 February included).
      const limit = afterMs + 8 * 366 * 86_400_000;
      while (date.getTime() <= limit) {
        if (!months!.set.has(date.getUTCMonth() + 1)) {
          date.setUTCMonth(date.getUTCMonth() + 1, 1);
          date.setUTCHours(0, 0, 0, 0);
          continue;
        }
        if (!dayMatches(date)) {
          date.setUTCDate(date.getUTCDate() + 1);
          date.setUTCHours(0, 0, 0, 0);
          continue;
        }
        if (!hours!.set.has(date.getUTCHours())) {
          date.setUTCHours(date.getUTCHours() + 1, 0, 0, 0);
          continue;
        }
        if (!minutes!.set.has(date.getUTCMinutes())) {
          date.setUTCMinutes(date.getUTCMinutes() + 1, 0, 0);
          continue;
        }
        return date.getTime();
      }
      throw new RangeError(`cron '${expression}' never matches`);
    },
  };
}
