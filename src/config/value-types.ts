/**
 * The kinds of value a setting takes: how its text (a flag, a PIER_* variable) is parsed, how its
 * value is written back (the defaults in `pier serve --help` and the README), and what `--help`
 * shows after the flag. `format` and `parse` round-trip: `parse(format(v))` is `v`.
 */
import {
  formatInformationUnit,
  type MemoryWatermark,
  parseInformationUnit,
  parseMemoryWatermark,
} from '../resources/information-units.js';

export interface ValueType<T> {
  /** Shown after the flag, e.g. `<port|off>`, `<ms>`. */
  readonly placeholder: string;
  /** Texts a repeated flag gives (and the environment variable, split on this separator). */
  readonly repeatable?: { readonly separator: string };
  /** The value of `text`; throws InvalidValue saying what was expected. */
  parse(text: string): T;
  /** For repeatable values: the value of every occurrence. */
  parseAll?(texts: readonly string[]): T;
  format(value: T): string;
}

/** A text that is not a value of its type; `expected` completes "'<text>' …". */
export class InvalidValue extends Error {
  constructor(
    readonly text: string,
    readonly expected: string,
  ) {
    super(`'${text}' ${expected}`);
    this.name = 'InvalidValue';
  }
}

/** Any text, or one matching `pattern`. */
export function text(
  options: { placeholder?: string; pattern?: RegExp; expected?: string } = {},
): ValueType<string> {
  return {
    placeholder: `<${options.placeholder ?? 'text'}>`,
    parse(value) {
      if (options.pattern && !options.pattern.test(value)) {
        throw new InvalidValue(value, options.expected ?? `must match ${options.pattern}`);
      }
      return value;
    },
    format: (value) => value,
  };
}

function integerIn(value: string, min: number, max: number): number | undefined {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

/** A port a listener binds (0: a free one), or 'off' (also 'false') to switch the listener off. */
export function portOrOff(): ValueType<number | false> {
  return {
    placeholder: '<port|off>',
    parse(value) {
      if (value === 'off' || value === 'false') return false;
      const port = integerIn(value, 0, 65535);
      if (port === undefined) throw new InvalidValue(value, "is not a port number (0-65535) or 'off'");
      return port;
    },
    format: (value) => (value === false ? 'off' : String(value)),
  };
}

/**
 * A whole number from `min` (0 or more) to `max`, in `unit` (shown in --help). With `off`, the
 * word 'off' means that number (e.g. 0: a timeout that never fires).
 */
export function integer(
  options: { min: number; max?: number; unit?: string; off?: number } = { min: 0 },
): ValueType<number> {
  const { min, max = Number.MAX_SAFE_INTEGER, unit = 'n', off } = options;
  const kind =
    max !== Number.MAX_SAFE_INTEGER
      ? `be between ${min} and ${max}`
      : min === 0
        ? 'be a non-negative integer'
        : min === 1
          ? 'be a positive integer'
          : `be an integer of at least ${min}`;
  return {
    placeholder: off === undefined ? `<${unit}>` : `<${unit}|off>`,
    parse(value) {
      if (off !== undefined && value === 'off') return off;
      const n = integerIn(value, min, max);
      if (n === undefined)
        throw new InvalidValue(value, `must ${kind}${off === undefined ? '' : " or 'off'"}`);
      return n;
    },
    format: (value) => String(value),
  };
}

/** A positive whole number, or 'unlimited' (also 'infinity'): Infinity. */
export function limit(): ValueType<number> {
  return {
    placeholder: '<n|unlimited>',
    parse(value) {
      if (value === 'unlimited' || value === 'infinity') return Number.POSITIVE_INFINITY;
      const n = integerIn(value, 1, Number.MAX_SAFE_INTEGER);
      if (n === undefined) throw new InvalidValue(value, "must be a positive integer or 'unlimited'");
      return n;
    },
    format: (value) => (value === Number.POSITIVE_INFINITY ? 'unlimited' : String(value)),
  };
}

/** A size in bytes: a byte count or a number with a unit (50MB, 512MiB, 1GiB), as rabbitmq.conf. */
export function size(): ValueType<number> {
  return {
    placeholder: '<size>',
    parse(value) {
      const bytes = parseInformationUnit(value);
      if (bytes === undefined) {
        throw new InvalidValue(value, 'must be a size in bytes or with a unit (e.g. 50MB, 1GiB)');
      }
      return bytes;
    },
    format: formatInformationUnit,
  };
}

/** A fraction of total memory (0.4) or a size (512MiB, 2GB). */
export function memoryWatermark(): ValueType<MemoryWatermark> {
  return {
    placeholder: '<fraction|size>',
    parse(value) {
      const watermark = parseMemoryWatermark(value);
      if (!watermark) {
        throw new InvalidValue(
          value,
          'must be a fraction of total memory (0 to 1, e.g. 0.4) or a size (e.g. 512MiB, 2GB)',
        );
      }
      return watermark;
    },
    format: (value) => ('bytes' in value ? formatInformationUnit(value.bytes) : String(value.fraction)),
  };
}

/** A decimal number in [min, max], e.g. a ratio (0.5). */
export function fraction(options: { min: number; max: number }): ValueType<number> {
  return {
    placeholder: '<ratio>',
    parse(value) {
      const n = /^\s*\d*\.?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
      if (!(n >= options.min && n <= options.max)) {
        throw new InvalidValue(value, `must be a number from ${options.min} to ${options.max} (e.g. 0.5)`);
      }
      return n;
    },
    format: (value) => String(value),
  };
}

/** One of a few words, each standing for a value (`auto` may stand for undefined: decided later). */
export function choice<T>(values: Readonly<Record<string, T>>): ValueType<T> {
  const words = Object.keys(values);
  const list = `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
  return {
    placeholder: `<${words.join('|')}>`,
    parse(value) {
      if (!Object.hasOwn(values, value)) throw new InvalidValue(value, `must be ${list}`);
      return values[value] as T;
    },
    format(value) {
      const word = words.find((w) => values[w] === value);
      if (word === undefined) throw new Error(`no word for ${String(value)} among ${list}`);
      return word;
    },
  };
}

export function boolean(): ValueType<boolean> {
  return choice({ true: true, false: false });
}

/**
 * A list: the flag repeated, or the environment variable's items joined by `separator`; `none`
 * (alone) for an empty list.
 */
export function list<T>(
  item: { placeholder: string; parse(text: string): T; format(value: T): string },
  separator = ',',
): ValueType<readonly T[]> {
  return {
    placeholder: item.placeholder,
    repeatable: { separator },
    parse: (value) =>
      value === 'none'
        ? []
        : value
            .split(separator)
            .filter((part) => part !== '')
            .map((part) => item.parse(part)),
    parseAll: (texts) =>
      texts.length === 1 && texts[0] === 'none' ? [] : texts.map((part) => item.parse(part)),
    format: (values) => (values.length === 0 ? 'none' : values.map((v) => item.format(v)).join(separator)),
  };
}
