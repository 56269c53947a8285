/**
 * Number and text formatting for the report's tables and captions, and HTML escaping.
 *
 * @example
 * formatBytes(2560)      // "2.56 kB"
 * formatPercent(0.01234) // "0.0123%"
 * formatPoints(-4.25)    // "−4.3 pp"
 * formatMs(473.6)        // "474"; formatMs(3.14159) // "3.14"
 * formatSignedPercent(31) // "+31.0%"
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

/** An accuracy (a fraction) as a percentage with one decimal: 0.513 → "51.3%". */
export function formatAccuracy(fraction: number): string {
  if (!Number.isFinite(fraction)) return 'n/a';
  return `${(fraction * 100).toFixed(1)}%`;
}

/** A difference in percentage points with a sign. */
export function formatPoints(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const text = Math.abs(value).toFixed(1);
  return `${value < 0 ? '−' : '+'}${text} pp`;
}

/**
 * A measured quantity with as many digits as its size earns: whole numbers from 100 (with thousands
 * separators), one decimal from 10, two below.
 */
export function formatMeasure(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const size = Math.abs(value);
  if (size >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(size >= 10 ? 1 : 2);
}

/** Milliseconds (the unit is left to the column header or the text around it). */
export function formatMs(ms: number): string {
  return formatMeasure(ms);
}

/** Bytes in MiB (2²⁰ bytes, as tfjs and process memory are usually read), without the unit. */
export function formatMiB(bytes: number): string {
  return formatMeasure(bytes / 2 ** 20);
}

/** Bytes in KiB (2¹⁰ bytes), without the unit. */
export function formatKiB(bytes: number): string {
  return formatMeasure(bytes / 2 ** 10);
}

/** A number with its sign, where the sign is the point: `digits` decimals, else one, two under 1 ("+0.40"). */
export function formatSigned(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const text = Math.abs(value).toFixed(digits ?? (Math.abs(value) < 1 ? 2 : 1));
  return `${value < 0 ? '−' : '+'}${text}`;
}

/** A percentage with its sign ("+31.0%", "−0.40%"). */
export function formatSignedPercent(value: number): string {
  return Number.isFinite(value) ? `${formatSigned(value)}%` : 'n/a';
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
