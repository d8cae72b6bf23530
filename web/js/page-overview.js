// The owner's overview (GET /api/crm/stats): big numbers, calls per day by
// outcome, the busiest hours, leads by source and the pipeline as a funnel.
// Charts are inline SVG drawn here (no library, nothing from elsewhere),
// at the width of their card (redrawn when it changes), so 1 unit = 1 px
// and text stays readable on a 375 px phone. Time runs right to left like
// the text: the oldest day (and midnight) on the right. Each chart is an
// image with a title for screen readers, plus a visually hidden table.
// Colours are the Okabe-Ito set (told apart with every colour-vision type),
// separated by white gaps, and always named in a legend.
import { h, mount } from './dom.js';
import { get, qs } from './api.js';
import * as fmt from './fmt.js';
import { SOURCE } from './page-leads.js';

const SVG = 'http://www.w3.org/2000/svg';
export const OUTCOMES = [
  ['ai_handled', 'טופלו ע״י הנציג הדיגיטלי', '#0072B2'],
  ['transferred', 'הועברו לנציג', '#56B4E9'],
  ['voicemail', 'הודעה קולית', '#E69F00'],
  ['missed', 'לא נענו', '#D55E00'],
];
const PERIODS = [[7, '7 ימים'], [30, '30 יום'], [90, '90 יום']];
const BAR = '#0b5cad';
const BAR_TOP = '#10243d';
const GRID = '#d5dbe3';
const INK = '#1b2430';
const MUTED = '#4a5565';

/// An SVG element with presentation attributes (allowed by the CSP, unlike
/// style attributes).
function s(tag, attrs = {}, ...kids) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}

let nextId = 0;
/// The chart's root: an image named by its <title> (and aria-label).
function chart(width, height, label) {
  const id = `chart-title-${++nextId}`;
  return s('svg', {
    xmlns: SVG, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': id, 'aria-label': label, direction: 'ltr', focusable: 'false',
  }, s('title', { id }, label));
}

const text = (x, y, content, attrs = {}) =>
  s('text', { x, y, 'font-size': 12, fill: MUTED, ...attrs }, content);

/// Round maximum for an axis: 1, 2, 5, 10, 20, 50...
function niceMax(n) {
  if (n <= 4) return Math.max(1, n);
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

const dayLabel = (day) => { const [, m, d] = day.split('-'); return `${d}/${m}`; };
const num = (n) => new Intl.NumberFormat('he-IL').format(n);

// -- charts ---------------------------------------------------------------------

/// Calls per day, stacked by outcome; the oldest day at the right.
function callsChart(days, width) {
  const height = 230;
  const top = 12;
  const bottom = 26;
  const axis = 30; // y labels at the right, where time starts
  const plotW = Math.max(40, width - axis - 4);
  const plotH = height - top - bottom;
  const totals = days.map((d) => OUTCOMES.reduce((t, [k]) => t + d[k], 0));
  const max = niceMax(Math.max(0, ...totals));
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(1, Math.min(28, slot * 0.72));
  const y = (v) => top + plotH - (v / max) * plotH;
  const svg = chart(width, height, `שיחות ליום לפי תוצאה, ${days.length} ימים, ${num(totals.reduce((a, b) => a + b, 0))} שיחות`);
  for (const v of [0, max / 2, max]) {
    svg.append(s('line', { x1: 0, x2: plotW, y1: y(v), y2: y(v), stroke: GRID, 'stroke-width': 1 }));
    if (Number.isInteger(v)) svg.append(text(width - 2, y(v) + 4, num(v), { 'text-anchor': 'end' }));
  }
  const labelEvery = Math.max(1, Math.ceil(48 / slot));
  days.forEach((d, i) => {
    const x = plotW - (i + 1) * slot + (slot - barW) / 2; // right to left
    let acc = 0;
    const g = s('g', { 'data-day': d.day });
    for (const [key, label, colour] of OUTCOMES) {
      const n = d[key];
      if (!n) continue;
      const y0 = y(acc);
      const y1 = y(acc + n);
      acc += n;
      g.append(s('rect', {
        x, y: y1, width: barW, height: Math.max(1, y0 - y1), fill: colour,
        stroke: '#fff', 'stroke-width': barW > 4 ? 1 : 0, 'data-outcome': key, 'data-count': n,
      }, s('title', {}, `${fmt.dayText(d.day)}: ${num(n)} ${label}`)));
    }
    svg.append(g);
    // Counted from the newest day (at the left), which always has its date.
    if ((days.length - 1 - i) % labelEvery === 0) {
      const cx = Math.min(plotW - 16, Math.max(16, x + barW / 2));
      svg.append(text(cx, height - 8, dayLabel(d.day), { 'text-anchor': 'middle', 'font-size': 11 }));
    }
  });
  return svg;
}

/// 24 bars, midnight at the right; the busiest hour in a darker colour.
function hoursChart(hours, width) {
  const height = 150;
  const top = 16;
  const bottom = 22;
  const plotH = height - top - bottom;
  const max = Math.max(...hours);
  const scale = niceMax(max);
  const slot = width / 24;
  const barW = Math.max(2, slot * 0.7);
  const svg = chart(width, height, `שיחות לפי שעה ביום (שעון ישראל)${max ? `, העמוס ביותר ${busiest(hours)}` : ''}`);
  svg.append(s('line', { x1: 0, x2: width, y1: top + plotH, y2: top + plotH, stroke: GRID }));
  hours.forEach((n, hour) => {
    const x = width - (hour + 1) * slot + (slot - barW) / 2;
    const bh = max ? (n / scale) * plotH : 0;
    svg.append(s('rect', {
      x, y: top + plotH - bh, width: barW, height: Math.max(n ? 2 : 0, bh),
      fill: n && n === max ? BAR_TOP : BAR, 'data-hour': hour, 'data-count': n,
    }, s('title', {}, `${String(hour).padStart(2, '0')}:00–${String(hour).padStart(2, '0')}:59: ${num(n)} שיחות`)));
    if (n && n === max) svg.append(text(x + barW / 2, top + plotH - bh - 4, num(n), { 'text-anchor': 'middle', 'font-size': 11, fill: INK }));
    if (hour % 3 === 0) svg.append(text(x + barW / 2, height - 6, String(hour).padStart(2, '0'), { 'text-anchor': 'middle', 'font-size': 11 }));
  });
  return svg;
}

function busiest(hours) {
  const max = Math.max(...hours);
  const hour = hours.indexOf(max);
  // Words between the times keep their order in right-to-left text.
  return `בין ${String(hour).padStart(2, '0')}:00 ל־${String((hour + 1) % 24).padStart(2, '0')}:00`;
}

/// Horizontal bars: the label at the right, the bar growing to the left,
/// the number at its end. `centered` draws a funnel (bars centred).
function rowsChart(rows, width, label, { centered = false } = {}) {
  const rowH = 30;
  const labelW = Math.min(130, Math.round(width * 0.38));
  const plotW = Math.max(30, width - labelW - 8);
  const height = Math.max(1, rows.length) * rowH + 4;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const svg = chart(width, height, label);
  rows.forEach((r, i) => {
    const y = i * rowH + 4;
    const name = r.label.length > 18 ? `${r.label.slice(0, 17)}…` : r.label;
    svg.append(text(width - 2, y + 17, name, { 'text-anchor': 'end', 'font-size': 13, fill: INK }));
    const w = r.value ? Math.max(3, (r.value / max) * (plotW - 34)) : 0;
    const x = centered ? (plotW - w) / 2 : plotW - w;
    svg.append(s('rect', {
      x, y: y + 3, width: w, height: rowH - 10, rx: 3,
      fill: centered ? funnelShade(i, rows.length) : BAR, 'data-key': r.key, 'data-count': r.value,
    }, s('title', {}, `${r.label}: ${num(r.value)}`)));
    const inside = centered && w > 40;
    svg.append(text(inside ? x + w / 2 : x - 4, y + 17, num(r.value), {
      'text-anchor': inside ? 'middle' : 'end', 'font-size': 12, fill: inside ? '#fff' : INK, 'font-weight': 700,
    }));
  });
  return svg;
}

/// Darker at the top of the funnel, every shade dark enough for white text.
function funnelShade(i, n) {
  const shades = ['#10243d', '#163a62', '#0b5cad', '#1f6fbf', '#2e7cc9', '#3a86cf'];
  return shades[Math.min(shades.length - 1, Math.floor((i / Math.max(1, n - 1)) * (shades.length - 1)))];
}

/// Draws `draw(width)` into `box` at its width, again when the width changes.
function responsive(box, draw, observers) {
  let drawn = 0;
  const paint = () => {
    const w = Math.floor(box.clientWidth);
    if (!w || w === drawn) return;
    drawn = w;
    mount(box, draw(w));
  };
  paint();
  if (!drawn) mount(box, draw(320));
  if (typeof ResizeObserver === 'function') {
    const ro = new ResizeObserver(() => paint());
    ro.observe(box);
    observers.push(ro);
  }
}

// -- the page -------------------------------------------------------------------

/// The chart's numbers as a table for screen readers. The wrapper hides it
/// (a table itself cannot be narrower than its content, so it would widen
/// the page on a phone).
function visuallyHiddenTable(caption, head, rows) {
  return h('div.visually-hidden', h('table',
    h('caption', caption),
    h('thead', h('tr', head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', rows.map((r) => h('tr', r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', c))))))));
}

function tile(key, label, value, sub) {
  return h('div.tile', { dataset: { tile: key } },
    h('span.tile-label', label),
    h('strong.tile-value', value),
    sub ? h('span.tile-sub', sub) : null);
}

export async function render(view, ctx, { query }) {
  const today = fmt.israelDay();
  const asked = Number(query.get('days'));
  const days = PERIODS.some(([d]) => d === asked) ? asked : 30;
  const from = fmt.addDays(today, -(days - 1));
  const st = await get(`/api/crm/stats${qs({ from, to: today })}`);
  const observers = [];

  const calls = st.calls;
  const share = (k) => (calls.total ? Math.round((calls.by_day.reduce((t, d) => t + d[k], 0) / calls.total) * 100) : 0);
  const paid = st.payments.this_month;
  const tiles = h('section.tiles', { 'aria-label': 'מספרים עיקריים' },
    tile('calls', 'שיחות', num(calls.total), calls.total ? `${share('ai_handled')}% טופלו ע״י הנציג הדיגיטלי` : 'אין שיחות בתקופה'),
    tile('leads', 'לידים חדשים', num(st.leads.total), st.leads.total ? `${num(st.leads.by_source.call || 0)} משיחות, ${num(st.leads.by_source.whatsapp || 0)} מוואטסאפ` : null),
    tile('appointments', 'פגישות השבוע', num(st.appointments.this_week), `${num(st.appointments.upcoming)} קרובות`),
    tile('payments', 'שולם החודש', fmt.ils(paid.paid_minor),
      `${num(paid.count)} תשלומים${st.payments.pending ? ` · ${num(st.payments.pending)} ממתינים` : ''}`));

  // Calls per day by outcome.
  const legend = h('ul.legend', { 'aria-hidden': 'true' }, OUTCOMES.map(([key, label]) =>
    h('li', h(`span.swatch.oc-${key}`), ` ${label} `, h('span.count', `(${num(calls.by_day.reduce((t, d) => t + d[key], 0))})`))));
  const callsBox = h('div.chart-box');
  const callsCard = h('section.card.chart-card', { 'aria-labelledby': 'ov-calls-title' },
    h('h2#ov-calls-title', 'שיחות ליום לפי תוצאה'),
    legend,
    callsBox,
    h('p.chart-note', `ימים מימין לשמאל: ${fmt.dayText(st.from)} מימין, ${fmt.dayText(st.to)} משמאל.`),
    visuallyHiddenTable('שיחות ליום לפי תוצאה', ['יום', ...OUTCOMES.map(([, l]) => l), 'סה״כ'],
      calls.by_day.map((d) => [fmt.dayText(d.day), ...OUTCOMES.map(([k]) => num(d[k])), num(OUTCOMES.reduce((t, [k]) => t + d[k], 0))])));

  // Busiest hours.
  const hoursBox = h('div.chart-box');
  const hoursCard = h('section.card.chart-card', { 'aria-labelledby': 'ov-hours-title' },
    h('h2#ov-hours-title', 'שעות עמוסות'),
    h('p.chart-note', calls.total
      ? `השעה העמוסה ביותר: ${busiest(calls.by_hour)} (שעון ישראל). חצות מימין.`
      : 'אין עדיין שיחות בתקופה.'),
    hoursBox,
    visuallyHiddenTable('שיחות לפי שעה', ['שעה', 'שיחות'],
      calls.by_hour.map((n, hr) => [`${String(hr).padStart(2, '0')}:00`, num(n)])));

  // Leads by source (those that brought any) and the funnel.
  const sources = Object.entries(st.leads.by_source).filter(([, n]) => n > 0)
    .map(([key, n]) => ({ key, label: SOURCE[key] || key, value: n }));
  const sourcesBox = h('div.chart-box');
  const sourcesCard = h('section.card.chart-card', { 'aria-labelledby': 'ov-sources-title' },
    h('h2#ov-sources-title', 'לידים לפי מקור'),
    sources.length ? sourcesBox : h('p.empty', 'אין לידים חדשים בתקופה.'),
    visuallyHiddenTable('לידים לפי מקור', ['מקור', 'לידים'], sources.map((r) => [r.label, num(r.value)])));
  const funnel = st.leads.funnel.map((f) => ({ key: f.key, label: f.label, value: f.leads }));
  const funnelBox = h('div.chart-box');
  const funnelCard = h('section.card.chart-card', { 'aria-labelledby': 'ov-funnel-title' },
    h('h2#ov-funnel-title', 'משפך הלידים לפי שלב'),
    h('p.chart-note', 'הלידים שנכנסו בתקופה, לפי השלב שבו הם נמצאים עכשיו.'),
    funnelBox,
    visuallyHiddenTable('לידים לפי שלב', ['שלב', 'לידים'], funnel.map((r) => [r.label, num(r.value)])));

  const periods = h('nav.period-nav', { 'aria-label': 'תקופה' }, PERIODS.map(([d, label]) =>
    h('a.button', { href: `#/overview?days=${d}`, 'aria-current': d === days ? 'true' : null }, label)));
  mount(view,
    h('header.page-head', h('div', h('h1', 'סקירה'),
      h('p.meta', `${fmt.dayText(st.from)} – ${fmt.dayText(st.to)}`)), periods),
    tiles,
    callsCard,
    h('div.grid-2', funnelCard, sourcesCard),
    hoursCard,
    h('p.meta.speed', st.speed_to_lead === null
      ? 'זמן התגובה לליד חדש יוצג כאן כשיתועדו שיחות חזרה.'
      : `זמן תגובה ממוצע לליד: ${st.speed_to_lead}`));

  responsive(callsBox, (w) => callsChart(calls.by_day, w), observers);
  responsive(hoursBox, (w) => hoursChart(calls.by_hour, w), observers);
  responsive(funnelBox, (w) => rowsChart(funnel, w, `משפך הלידים: ${funnel.map((r) => `${r.label} ${r.value}`).join(', ')}`, { centered: true }), observers);
  if (sources.length) {
    responsive(sourcesBox, (w) => rowsChart(sources, w, `לידים לפי מקור: ${sources.map((r) => `${r.label} ${r.value}`).join(', ')}`), observers);
  }
  return () => { for (const ro of observers) ro.disconnect(); };
}
