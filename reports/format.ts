/**
 * Number and text formatting for the report's tables and captions, and HTML escaping.
 *
 * @example
 * formatBytes(2560)      // "2.56 kB"
 * formatPercent(0.01234) // "0.0123%"
 * formatPoints(-4.25)    // "−4.3 pp"
 */

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function formatCount(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** Bytes in SI units (kB = 1,000 bytes), three significant digits. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} bytes` : `${Number(value.toPrecision(3))} ${units[unit]}`;
}

/** A percentage with three significant digits (small shares keep their digits: 0.0123%). */
export function formatPercent(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${Number(value.toPrecision(3))}%`;
}

/** A difference in percentage points with a sign. */
export function formatPoints(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const text = Math.abs(value).toFixed(1);
  return `${value < 0 ? '−' : '+'}${text} pp`;
}

/** Accuracy given as a percentage, with its interval when there is one. */
export function formatScore(mean: number, low: number | null, high: number | null): string {
  if (!Number.isFinite(mean)) return 'n/a';
  return low === null || high === null ? `${mean.toFixed(1)}%` : `${mean.toFixed(1)}% [${low.toFixed(1)}, ${high.toFixed(1)}]`;
}

/** The text with its first letter in upper case ("prompt design trains…" → "Prompt design trains…"). */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "a, b and c" */
export function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** A date-time as "2025-01-15 12:00 UTC" (the ISO text itself when it does not parse). */
export function formatDate(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
