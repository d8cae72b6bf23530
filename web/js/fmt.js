// Israeli formats: ₪ amounts, dd/mm/yyyy dates and 24-hour times, all in
// Israel time (Asia/Jerusalem) whatever the browser's own time zone.

export const TZ = 'Asia/Jerusalem';

const money = new Intl.NumberFormat('he-IL', { style: 'currency', currency: 'ILS' });
const parts = new Intl.DateTimeFormat('en-GB', {
  timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  weekday: 'short',
});

/// An amount in agorot (minor units) as "‏1,234.50 ₪".
export function ils(minor) {
  return money.format(Number(minor || 0) / 100);
}

/// Any currency from minor units (ILS through the ₪ formatter).
export function amount(minor, currency = 'ILS') {
  if (!currency || currency === 'ILS') return ils(minor);
  try {
    return new Intl.NumberFormat('he-IL', { style: 'currency', currency }).format(Number(minor) / 100);
  } catch {
    return `${(Number(minor) / 100).toFixed(2)} ${currency}`;
  }
}

/// Whole shekels (budgets) as ₪ without agorot.
export function shekels(n) {
  if (n === null || n === undefined || n === '') return '';
  return new Intl.NumberFormat('he-IL', { style: 'currency', currency: 'ILS', maximumFractionDigits: 0 }).format(n);
}

/// The Israel wall clock of `when` (Date, ISO text or ms) as parts.
export function israel(when) {
  const d = when instanceof Date ? when : new Date(when);
  const p = {};
  for (const { type, value } of parts.formatToParts(d)) p[type] = value;
  return p;
}

function valid(when) {
  return when !== null && when !== undefined && when !== ''
    && !Number.isNaN((when instanceof Date ? when : new Date(when)).getTime());
}

/// dd/mm/yyyy; text that is not a time is shown as it is.
export function date(when) {
  if (!valid(when)) return when ? String(when) : '';
  const p = israel(when);
  return `${p.day}/${p.month}/${p.year}`;
}

/// HH:MM, 24-hour.
export function time(when) {
  if (!valid(when)) return when ? String(when) : '';
  const p = israel(when);
  return `${p.hour}:${p.minute}`;
}

export function dateTime(when) {
  if (!valid(when)) return when ? String(when) : '';
  return `${date(when)} ${time(when)}`;
}

/// Seconds as m:ss or h:mm:ss.
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '';
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/// +972501234567 -> 050-123-4567 (Israeli numbers); others unchanged.
export function phone(e164) {
  if (!e164) return '';
  const m = /^\+972(\d{1,2})(\d{3})(\d{4})$/.exec(e164);
  if (!m) return e164;
  return `0${m[1]}-${m[2]}-${m[3]}`;
}

/// Offset of Israel time from UTC at `utcMs`, in minutes.
function israelOffset(utcMs) {
  const p = israel(new Date(utcMs));
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60000);
}

/// An Israel wall-clock date ("2025-03-10") and time ("10:30") as an ISO
/// instant in UTC (what the API takes).
export function israelToIso(day, hhmm = '00:00') {
  const [y, mo, d] = day.split('-').map(Number);
  const [hh, mm] = hhmm.split(':').map(Number);
  const guess = Date.UTC(y, mo - 1, d, hh, mm);
  let utc = guess - israelOffset(guess) * 60000;
  utc = guess - israelOffset(utc) * 60000; // across a DST change
  return new Date(utc).toISOString();
}

/// The Israel calendar day of `when` as "YYYY-MM-DD".
export function israelDay(when = new Date()) {
  const p = israel(when);
  return `${p.year}-${p.month}-${p.day}`;
}

/// "YYYY-MM-DD" plus n days.
export function addDays(day, n) {
  const [y, m, d] = day.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return t.toISOString().slice(0, 10);
}

/// Day of week (0 = Sunday) of "YYYY-MM-DD".
export function weekday(day) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

export const DAY_NAMES = ['ראשון', 'שני', 'שלישי', 'רביעי', 'חמישי', 'שישי', 'שבת'];

/// "dd/mm/yyyy" (also d/m/yyyy, or with dots) -> "YYYY-MM-DD", or null.
export function parseDate(text) {
  const m = /^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{4})\s*$/.exec(text || '');
  if (!m) return null;
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return null;
  return t.toISOString().slice(0, 10);
}

/// "HH:MM" (24-hour, also H:MM) -> "HH:MM", or null.
export function parseTime(text) {
  const m = /^\s*(\d{1,2}):(\d{2})\s*$/.exec(text || '');
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return null;
  return `${m[1].padStart(2, '0')}:${m[2]}`;
}

/// "YYYY-MM-DD" -> "dd/mm/yyyy".
export function dayText(day) {
  const [y, m, d] = day.split('-');
  return `${d}/${m}/${y}`;
}
