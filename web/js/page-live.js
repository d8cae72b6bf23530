// Live calls now: who is on the line, for how long, which engine, what
// state; updated by the event stream, durations tick every second. Below:
// the latest calls and a log of live activity (messages, payments).
import { h, mount } from './dom.js';
import { get } from './api.js';
import * as fmt from './fmt.js';

export const CALL_STATUS = {
  queued: 'בתור', ringing: 'מצלצל', 'in-progress': 'בשיחה', completed: 'הסתיימה',
  busy: 'תפוס', 'no-answer': 'לא נענתה', failed: 'נכשלה', canceled: 'בוטלה',
  dropped: 'נותקה', fallback: 'הקלטה קולית', redirected: 'הועברה להקלטה',
  transferring: 'מועברת לנציג', transfer_missed: 'העברה לא נענתה',
};
export const ENGINE = { local: 'קול מובנה', openai: 'OpenAI' };
const LIVE = new Set(['queued', 'ringing', 'in-progress']);
/// A call still "live" after this long lost its end (a crashed instance):
/// not shown as on the line.
const STALE_S = 3 * 3600;

function callerCell(c) {
  const number = h('bdi', { dir: 'ltr' }, fmt.phone(c.from) || 'חסוי');
  return c.lead_id ? h('a', { href: `#/leads/${c.lead_id}` }, number) : number;
}

function since(c) {
  const start = c.started_at || c.created_at;
  return start ? (Date.now() - new Date(start).getTime()) / 1000 : 0;
}

export async function render(view, ctx) {
  const [ringing, talking, recent] = await Promise.all([
    get('/api/crm/calls?status=ringing&per_page=100'),
    get('/api/crm/calls?status=in-progress&per_page=100'),
    get('/api/crm/calls?per_page=10'),
  ]);
  const calls = new Map();
  for (const c of [...ringing.items, ...talking.items]) {
    if (since(c) < STALE_S) calls.set(c.sid, c);
  }

  const liveBody = h('tbody');
  const empty = h('p.empty', 'אין כרגע שיחות פעילות.');
  const liveTable = h('table.data', { 'aria-describedby': 'live-caption' },
    h('caption#live-caption.visually-hidden', 'שיחות פעילות'),
    h('thead', h('tr', h('th', { scope: 'col' }, 'מתקשר'), h('th', { scope: 'col' }, 'משך'),
      h('th', { scope: 'col' }, 'מנוע'), h('th', { scope: 'col' }, 'מצב'))),
    liveBody);
  const recentBody = h('tbody');
  const activity = h('ol.activity', { 'aria-live': 'polite' });

  function drawLive() {
    const rows = [...calls.values()].sort((a, b) => since(b) - since(a));
    mount(liveBody, rows.map((c) => h('tr', { dataset: { sid: c.sid } },
      h('td', callerCell(c)),
      h('td.num', h('span.duration', { dataset: { sid: c.sid } }, fmt.duration(since(c)))),
      h('td', ENGINE[c.engine] || c.engine),
      h('td', h(`span.pill.st-${c.status}`, CALL_STATUS[c.status] || c.status)))));
    liveTable.hidden = rows.length === 0;
    empty.hidden = rows.length !== 0;
    counter.textContent = String(rows.length);
  }

  function drawRecent(items) {
    mount(recentBody, items.map((c) => h('tr',
      h('td', callerCell(c)),
      h('td', fmt.dateTime(c.created_at)),
      h('td.num', fmt.duration(c.duration_s)),
      h('td', ENGINE[c.engine] || c.engine),
      h('td', CALL_STATUS[c.status] || c.status))));
  }

  function logActivity(text) {
    activity.prepend(h('li', h('time', fmt.time(new Date())), ' ', text));
    while (activity.children.length > 20) activity.lastChild.remove();
  }

  const counter = h('span.count', '0');
  mount(view,
    h('header.page-head', h('h1', 'שיחות חיות ', counter)),
    h('section.card', { 'aria-labelledby': 'live-title' },
      h('h2#live-title', 'עכשיו על הקו'), empty, liveTable),
    h('div.grid-2',
      h('section.card', { 'aria-labelledby': 'recent-title' },
        h('h2#recent-title', 'שיחות אחרונות'),
        h('table.data', h('thead', h('tr', h('th', { scope: 'col' }, 'מתקשר'),
          h('th', { scope: 'col' }, 'התחלה'), h('th', { scope: 'col' }, 'משך'),
          h('th', { scope: 'col' }, 'מנוע'), h('th', { scope: 'col' }, 'מצב'))), recentBody)),
      h('section.card', { 'aria-labelledby': 'activity-title' },
        h('h2#activity-title', 'פעילות חיה'), activity)));
  drawLive();
  drawRecent(recent.items);

  let recentItems = recent.items;
  ctx.onEvent((kind, d) => {
    if (kind === 'call') {
      if (LIVE.has(d.status)) {
        if (!calls.has(d.sid)) logActivity(`שיחה נכנסת מ־${fmt.phone(d.from) || 'מספר חסוי'}`);
        calls.set(d.sid, d);
      } else if (calls.delete(d.sid)) {
        logActivity(`שיחה עם ${fmt.phone(d.from) || 'מספר חסוי'} הסתיימה`);
      }
      drawLive();
      recentItems = [d, ...recentItems.filter((c) => c.sid !== d.sid)].slice(0, 10);
      drawRecent(recentItems.map((c) => ({
        ...c,
        duration_s: c.duration_s ?? (c.ended_at ? (new Date(c.ended_at) - new Date(c.started_at || c.created_at)) / 1000 : null),
      })));
    } else if (kind === 'message') {
      logActivity(d.direction === 'in'
        ? `הודעת וואטסאפ מ־${fmt.phone(d.from.replace(/^whatsapp:/, ''))}`
        : `הודעת וואטסאפ נשלחה (${d.status})`);
    } else if (kind === 'payment') {
      logActivity(`תשלום ${fmt.amount(d.amount_minor, d.currency)}: ${d.status === 'paid' ? 'שולם' : d.status === 'pending' ? 'ממתין' : d.status}`);
    }
  });

  const timer = setInterval(() => {
    for (const el of liveBody.querySelectorAll('.duration')) {
      const c = calls.get(el.dataset.sid);
      if (c) el.textContent = fmt.duration(since(c));
    }
  }, 1000);
  return () => clearInterval(timer);
}
