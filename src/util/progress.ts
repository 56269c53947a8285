/**
 * A progress display for long work (pretraining, experiment runs): a bar with done/total, rate, elapsed
 * time and ETA, plus free-form fields such as the loss or tokens/s.
 *
 * On a TTY it redraws one line in place with \r (at most every `ttyIntervalSeconds`); elsewhere (CI logs,
 * files) it prints a plain line at most every `intervalSeconds`, so logs stay short. `line()` prints a
 * message that is never overwritten; `done()` prints the final state and ends the display.
 *
 * The formatting helpers are pure and exported for tests and for other displays.
 */

/** Seconds as a short human duration: `0.4s`, `12.3s`, `3m05s`, `1h02m`, `2d03h`; `--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  if (seconds < 9.95) return `${seconds.toFixed(1)}s`;
  if (seconds < 59.5) return `${Math.round(seconds)}s`;
  const total = Math.round(seconds);
  const pad = (n: number): string => n.toString().padStart(2, '0');
  if (total < 3600) return `${Math.floor(total / 60)}m${pad(total % 60)}s`;
  if (total < 86400) return `${Math.floor(total / 3600)}h${pad(Math.floor((total % 3600) / 60))}m`;
  return `${Math.floor(total / 86400)}d${pad(Math.floor((total % 86400) / 3600))}h`;
}

/**
 * The remaining time from progress so far, assuming the rate stays as it was: `ETA 3m05s`, `ETA --`
 * before anything is done (no rate yet), `ETA 0.0s` when finished. `startDone` units were done before the
 * clock started (a resumed run) and do not count towards the rate.
 */
export function formatEta(done: number, total: number, elapsedSeconds: number, startDone = 0): string {
  if (total > 0 && done >= total) return 'ETA 0.0s';
  const progressed = done - startDone;
  if (!(progressed > 0) || !(elapsedSeconds > 0) || !(total > 0)) return 'ETA --';
  return `ETA ${formatDuration(((total - done) * elapsedSeconds) / progressed)}`;
}

/** A rate with a unit and a scale suffix: `3.2 step/s`, `12.4k tok/s`, `0.05 step/s`. */
export function formatRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return `-- ${unit}/s`;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M ${unit}/s`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)}k ${unit}/s`;
  if (perSecond >= 100) return `${Math.round(perSecond)} ${unit}/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)} ${unit}/s`;
  return `${perSecond.toPrecision(2)} ${unit}/s`;
}

/** A text bar `[#####.....]` of `width` cells for done/total (clamped to [0, 1]). */
export function formatBar(done: number, total: number, width = 20): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** Free-form fields shown after the bar: numbers are printed with a few significant digits. */
export type ProgressFields = Readonly<Record<string, string | number>>;

function formatField(value: string | number): string {
  if (typeof value === 'string') return value;
  if (Number.isInteger(value)) return value.toString();
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6) ? value.toExponential(2) : value.toPrecision(4);
}

/** Everything one progress line shows. */
export interface ProgressState {
  label: string;
  done: number;
  total: number;
  elapsedSeconds: number;
  /** Units done before the clock started (a resumed run): excluded from rate and ETA. Default 0. */
  startDone?: number;
  /** Unit of `done` for the rate (default "it"). */
  unit?: string;
  fields?: ProgressFields;
  barWidth?: number;
}

/** One progress line: `label [####......] 40/100 3.1 step/s 12.9s ETA 19.4s loss=2.31 tok/s=4100`. */
export function formatProgressLine(state: ProgressState): string {
  const unit = state.unit ?? 'it';
  const startDone = state.startDone ?? 0;
  const parts = [
    state.label,
    formatBar(state.done, state.total, state.barWidth),
    `${state.done}/${state.total}`,
    formatRate(state.elapsedSeconds > 0 ? (state.done - startDone) / state.elapsedSeconds : NaN, unit),
    formatDuration(state.elapsedSeconds),
    formatEta(state.done, state.total, state.elapsedSeconds, startDone),
  ];
  for (const [key, value] of Object.entries(state.fields ?? {})) parts.push(`${key}=${formatField(value)}`);
  return parts.filter((part) => part !== '').join(' ');
}

/** Where a display writes: process.stderr by default; tests pass a collector. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Shown first on every line (e.g. the preset name). */
  label?: string;
  /** Units of work in all. */
  total: number;
  /** Unit for the rate (default "it"). */
  unit?: string;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Redraw in place with \r; default: whether the stream is a TTY. */
  tty?: boolean;
  /** Non-TTY: print a line at most this often (default 10 s). */
  intervalSeconds?: number;
  /** TTY: redraw at most this often (default 0.1 s). */
  ttyIntervalSeconds?: number;
  /** The units already done when the display starts (a resumed run): they do not count towards the rate. */
  startDone?: number;
  /** Seconds the work after startDone had already taken when the display was created (default 0). */
  elapsedSeconds?: number;
  /** Clock in milliseconds (default Date.now); tests pass a fake one. */
  now?: () => number;
  /** Width of the bar in cells (default 20). */
  barWidth?: number;
}

/**
 * A live progress display. Create it, call {@link update} as work proceeds, {@link line} for messages that
 * must stay, and {@link done} at the end. Rate and ETA count only the work done since the display started,
 * so a resumed run does not claim a huge rate.
 */
export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly startMs: number;
  private readonly startDone: number;
  private lastPrintMs = -Infinity;
  private current: number;
  private fields: ProgressFields = {};
  /** Whether the TTY line currently holds a drawn (unterminated) progress line. */
  private drawn = false;
  private finished = false;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.now = options.now ?? Date.now;
    this.intervalMs = 1000 * (this.tty ? (options.ttyIntervalSeconds ?? 0.1) : (options.intervalSeconds ?? 10));
    this.startMs = this.now() - 1000 * (options.elapsedSeconds ?? 0);
    this.startDone = options.startDone ?? 0;
    this.current = this.startDone;
  }

  /** Records progress; draws if the interval has passed (always on the first update). */
  update(done: number, fields?: ProgressFields): void {
    if (this.finished) return;
    this.current = done;
    if (fields !== undefined) this.fields = fields;
    const nowMs = this.now();
    if (nowMs - this.lastPrintMs >= this.intervalMs) this.draw(nowMs);
  }

  /** Prints a message on its own line; on a TTY the progress line is redrawn below it. */
  line(message: string): void {
    if (this.tty && this.drawn) this.stream.write(`\r${' '.repeat(this.lineWidth())}\r`);
    this.stream.write(`${message}\n`);
    this.drawn = false;
    if (this.tty && !this.finished && this.lastPrintMs > -Infinity) this.draw(this.now());
  }

  /** Prints the final state (with optional last fields) and ends the display; later updates are ignored. */
  done(fields?: ProgressFields): void {
    if (this.finished) return;
    if (fields !== undefined) this.fields = fields;
    this.draw(this.now());
    if (this.tty) this.stream.write('\n');
    this.finished = true;
    this.drawn = false;
  }

  /** The current line as text (what the next draw would print). */
  render(nowMs = this.now()): string {
    return formatProgressLine({
      label: this.options.label ?? '',
      done: this.current,
      total: this.options.total,
      elapsedSeconds: (nowMs - this.startMs) / 1000,
      startDone: this.startDone,
      unit: this.options.unit,
      fields: this.fields,
      barWidth: this.options.barWidth,
    });
  }

  private lineWidth(): number {
    return Math.max(1, (this.stream.columns ?? 120) - 1);
  }

  private draw(nowMs: number): void {
    this.lastPrintMs = nowMs;
    let text = this.render(nowMs);
    if (this.tty) {
      // Truncate to the terminal width: a wrapped line cannot be redrawn with \r.
      const width = this.lineWidth();
      if (text.length > width) text = text.slice(0, width);
      this.stream.write(`\r${text.padEnd(width)}`);
      this.drawn = true;
    } else {
      this.stream.write(`${text}\n`);
    }
  }
}
