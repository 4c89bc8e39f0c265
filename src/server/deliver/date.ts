/**
 * Date forms Postfix writes: RFC 5322 header dates (`Wed, 25 Nov 2026 08:01:58 +0000 (UTC)`)
 * and the asctime form of the mbox `From ` line (`Wed Nov 25 08:01:58 2026`).
 */
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const p2 = (n: number) => String(n).padStart(2, '0');

// One formatter for the process: constructing it costs more than the whole rest of a date.
let zoneFormat: Intl.DateTimeFormat | undefined;

function zoneName(d: Date): string {
  try {
    zoneFormat ??= new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' });
    const parts = zoneFormat.formatToParts(d);
    const z = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
    return /^GMT[+-]/.test(z) ? '' : z === 'GMT' ? 'UTC' : z;
  } catch {
    return 'UTC';
  }
}

/** RFC 5322 date with Postfix's trailing zone-name comment. */
export function mailDate(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const zone = `${sign}${p2(Math.floor(a / 60))}${p2(a % 60)}`;
  const name = zoneName(d);
  return `${DAYS[d.getDay()]}, ${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${zone}${name ? ` (${name})` : ''}`;
}

/** asctime(3) without the newline: day of month padded with a space. */
export function asctime(d: Date): string {
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}
