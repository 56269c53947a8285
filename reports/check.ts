/**
 * Field checks for the files a report reads. A Checker walks one JSON value by dotted paths and collects
 * every problem (file and line, field, value, what is allowed) so that one error lists them all.
 *
 * @example
 * const check = new Checker('results.jsonl line 3', value);
 * const preset = check.string('config.preset');
 * check.throwIfProblems(); // Error: results.jsonl line 3: config.preset = 42: allowed: a string
 */

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short rendering of a value for error messages. */
export function showValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export class Checker {
  readonly problems: string[] = [];

  constructor(
    readonly where: string,
    readonly root: unknown,
  ) {}

  /** The value at a dotted path ("config.preset"; "" is the root), or undefined. */
  get(path: string): unknown {
    if (path === '') return this.root;
    let value: unknown = this.root;
    for (const part of path.split('.')) {
      if (!isPlainObject(value)) return undefined;
      value = value[part];
    }
    return value;
  }

  problem(path: string, value: unknown, allowed: string): void {
    this.problems.push(`${this.where}: ${path === '' ? '(top level)' : path} = ${showValue(value)}: allowed: ${allowed}`);
  }

  string(path: string): string {
    const value = this.get(path);
    if (typeof value === 'string') return value;
    this.problem(path, value, 'a string');
    return '';
  }

  boolean(path: string): boolean {
    const value = this.get(path);
    if (typeof value === 'boolean') return value;
    this.problem(path, value, 'true or false');
    return false;
  }

  /** A number; JSON null (how JSON.stringify writes NaN) reads as NaN when `nullable`. */
  number(path: string, nullable = false): number {
    const value = this.get(path);
    if (typeof value === 'number') return value;
    if (value === null && nullable) return NaN;
    this.problem(path, value, nullable ? 'a number or null' : 'a number');
    return NaN;
  }

  object(path: string): Record<string, unknown> {
    const value = this.get(path);
    if (isPlainObject(value)) return value;
    this.problem(path, value, 'an object');
    return {};
  }

  array(path: string): unknown[] {
    const value = this.get(path);
    if (Array.isArray(value)) return value;
    this.problem(path, value, 'an array');
    return [];
  }

  oneOf<T extends string>(path: string, allowed: readonly T[]): T {
    const value = this.get(path);
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.problem(path, value, allowed.join(', '));
    return allowed[0];
  }

  /** A list of strings; each element that is not one is a problem of its own. */
  strings(path: string): string[] {
    return this.array(path).flatMap((item, i) => {
      if (typeof item === 'string') return [item];
      this.problem(`${path}[${i}]`, item, 'a string');
      return [];
    });
  }

  /** A list of finite numbers; each element that is not one is a problem of its own. */
  numbers(path: string): number[] {
    return this.array(path).flatMap((item, i) => {
      if (typeof item === 'number' && Number.isFinite(item)) return [item];
      this.problem(`${path}[${i}]`, item, 'a number');
      return [];
    });
  }

  /** A string or null (null: "none", e.g. the checkpoint folder of initialised weights). */
  stringOrNull(path: string): string | null {
    const value = this.get(path);
    if (typeof value === 'string' || value === null) return value;
    this.problem(path, value, 'a string or null');
    return null;
  }

  /** A list of [number, number] pairs (loss and dev curves). */
  pairs(path: string): [number, number][] {
    const list = this.array(path);
    const pairs: [number, number][] = [];
    list.forEach((item, i) => {
      if (Array.isArray(item) && item.length === 2 && typeof item[0] === 'number' && (typeof item[1] === 'number' || item[1] === null)) {
        pairs.push([item[0], item[1] === null ? NaN : item[1]]);
      } else {
        this.problem(`${path}[${i}]`, item, 'a [step, value] pair of numbers');
      }
    });
    return pairs;
  }

  throwIfProblems(): void {
    throwProblems(this.problems);
  }
}

/** Throws one error listing the problems (the first 20, then a count), or returns when there are none. */
export function throwProblems(problems: readonly string[]): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, 20);
  const more = problems.length > shown.length ? [`... and ${problems.length - shown.length} more`] : [];
  throw new Error([...shown, ...more].join('\n'));
}
