// Follow-up call campaigns: the list with live counters (polled every 5 s
// while the tab is visible), a form to create one, start/pause, and one
// campaign's per-lead outcomes (#/campaigns/<id>).
import { h, mount, field, select, onSubmit } from './dom.js';
import { get, post, qs } from './api.js';
import * as fmt from './fmt.js';

const POLL_MS = 5000;

const STATE = { draft: 'טיוטה', running: 'פעיל', paused: 'מושהה', completed: 'הסתיים' };
const KIND = { campaign: 'קמפיין', speed_to_lead: 'חזרה ללידים חדשים' };
const OUTCOME = {
  queued: 'ממתין', dialing: 'מחייג', answered: 'בשיחה', completed: 'הושלם',
  voicemail: 'תא קולי', no_answer: 'לא ענה', busy: 'תפוס', failed: 'נכשל',
  opted_out: 'ביקש להסיר',
};
const SOURCES = [['', 'כל המקורות'], ['call', 'שיחה'], ['whatsapp', 'וואטסאפ'], ['manual', 'ידני'],
  ['import', 'ייבוא'], ['web', 'אתר'], ['portal', 'פורטל']];

/// Polls `fn` every POLL_MS while the page is shown and the tab visible;
/// returns the cleanup.
function poller(fn) {
  let timer = null;
  const tick = async () => {
    timer = null;
    if (document.visibilityState === 'visible') {
      try { await fn(); } catch { /* the next poll tries again */ }
    }
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  };
  let stopped = false;
  timer = setTimeout(tick, POLL_MS);
  return () => { stopped = true; if (timer) clearTimeout(timer); };
}

function counters(t) {
  const live = (t.dialing || 0) + (t.answered || 0);
  const done = (t.completed || 0) + (t.voicemail || 0) + (t.opted_out || 0);
  return h('span.campaign-counters',
    h('span', `ממתינים ${t.queued || 0}`), ' · ',
    h('span', `בשיחה ${live}`), ' · ',
    h('span', `הסתיימו ${done}`), ' · ',
    h('span', `לא ענו ${(t.no_answer || 0) + (t.busy || 0) + (t.failed || 0)}`));
}

function stateButtons(c, ctx, after) {
  if (!ctx.canManage || c.state === 'completed' || c.kind === 'speed_to_lead') return null;
  const running = c.state === 'running';
  const b = h(`button${running ? '' : '.primary'}`, { type: 'button' }, running ? 'השהיה' : 'הפעלה');
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await post(`/api/crm/campaigns/${c.id}/${running ? 'pause' : 'start'}`, {});
      ctx.toast(running ? 'הקמפיין הושהה.' : 'הקמפיין הופעל.');
      await after();
    } catch (err) {
      ctx.fail(running ? 'השהיית הקמפיין נכשלה' : 'הפעלת הקמפיין נכשלה', err);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

export async function render(view, ctx, { arg, query }) {
  return arg ? renderOne(view, ctx, arg, query) : renderList(view, ctx);
}

async function renderList(view, ctx) {
  const body = h('tbody');
  const table = h('table.data.campaigns',
    h('caption.visually-hidden', 'קמפיינים'),
    h('thead', h('tr', ['שם', 'סוג', 'מצב', 'התקדמות', 'נוצר', ''].map((t) => h('th', { scope: 'col' }, t)))),
    body);
  const live = h('p.visually-hidden', { role: 'status', 'aria-live': 'polite' });
  const load = async () => {
    const res = await get(`/api/crm/campaigns${qs({ per_page: 100 })}`);
    mount(body, res.items.length ? res.items.map((c) => h('tr',
      h('td', h('a', { href: `#/campaigns/${c.id}` }, c.name)),
      h('td', KIND[c.kind] || c.kind),
      h('td', h(`span.badge.campaign-${c.state}`, STATE[c.state] || c.state)),
      h('td', counters(c.totals)),
      h('td', fmt.dateTime(c.created_at)),
      h('td', stateButtons(c, ctx, load)))) : h('tr', h('td.empty', { colspan: 6 }, 'אין עדיין קמפיינים.')));
  };
  await load();
  mount(view,
    h('header.page-head', h('h1', 'קמפיינים'),
      h('p.meta', 'שיחות חוזרות ללידים: בשעות הפעילות בלבד, לא יותר מהמספר שנקבע בבת אחת, ולעולם לא למי שביקש להסיר.')),
    h('div.table-wrap', table), live,
    ctx.canManage ? newCampaign(ctx) : null);
  return poller(load);
}

function newCampaign(ctx) {
  const name = h('input', { required: true, maxlength: '200', autocomplete: 'off' });
  const status = select([['', 'כל הסטטוסים'], ...ctx.pipeline.map((s) => [s.key, s.label])], '');
  const source = select(SOURCES, '');
  const tags = h('input', { autocomplete: 'off', placeholder: 'למשל: חם, צפון' });
  const prompt = h('textarea', { rows: 4, maxlength: '8000' });
  const max = h('input', { type: 'number', min: '1', max: '50', value: '3', inputmode: 'numeric' });
  const attempts = h('input', { type: 'number', min: '1', max: '10', value: '2', inputmode: 'numeric' });
  const retry = h('input', { type: 'number', min: '1', max: '10080', value: '60', inputmode: 'numeric' });
  const vm = select([['hangup', 'לנתק'], ['message', 'להשאיר הודעה']], 'hangup');
  const vmText = h('textarea', { rows: 2, maxlength: '1000' });
  const vmField = field('נוסח ההודעה בתא הקולי', vmText);
  vmField.hidden = true;
  vm.addEventListener('change', () => {
    vmField.hidden = vm.value !== 'message';
    vmText.required = vm.value === 'message';
  });
  const form = h('form.card.campaign-form', { 'aria-labelledby': 'new-campaign-title' },
    h('h2#new-campaign-title', 'קמפיין חדש'),
    field('שם', name),
    h('fieldset', h('legend', 'אילו לידים'),
      field('סטטוס', status), field('מקור', source),
      field('תגיות', tags, 'מופרדות בפסיק; ליד צריך את כולן')),
    field('הנחיה לסוכנת', prompt, 'לא חובה: בלי הנחיה משמשת ההנחיה הרגילה'),
    field('שיחות במקביל', max), field('ניסיונות לכל ליד', attempts),
    field('דקות בין ניסיונות', retry),
    field('כשעונה תא קולי', vm), vmField,
    h('button.primary', { type: 'submit' }, 'יצירת קמפיין'));
  onSubmit(form, async () => {
    const filter = {};
    if (status.value) filter.status = status.value;
    if (source.value) filter.source = source.value;
    const t = tags.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (t.length) filter.tags = t;
    const body = {
      name: name.value.trim(), lead_filter: filter,
      max_concurrent: Number(max.value), attempts: Number(attempts.value),
      retry_after_min: Number(retry.value), voicemail: vm.value,
    };
    if (prompt.value.trim()) body.prompt = prompt.value.trim();
    if (vm.value === 'message') body.voicemail_text = vmText.value.trim();
    try {
      const res = await post('/api/crm/campaigns', body);
      ctx.toast('הקמפיין נוצר. בדקו את רשימת הלידים והפעילו אותו.');
      ctx.navigate(`#/campaigns/${res.id}`);
    } catch (err) {
      ctx.fail('יצירת הקמפיין נכשלה', err);
    }
  });
  return form;
}

async function renderOne(view, ctx, id, query) {
  const page = Math.max(1, Number(query.get('page')) || 1);
  const head = h('header.page-head');
  const totals = h('dl.campaign-totals');
  const body = h('tbody');
  const pager = h('nav.pager', { 'aria-label': 'דפים' });
  const load = async () => {
    const c = await get(`/api/crm/campaigns/${encodeURIComponent(id)}${qs({ page, per_page: 50 })}`);
    mount(head, h('h1', c.name),
      h('p.meta', h(`span.badge.campaign-${c.state}`, STATE[c.state] || c.state), ' ',
        `${c.max_concurrent} במקביל · ${c.attempts} ניסיונות · ${c.retry_after_min} דקות בין ניסיונות`),
      stateButtons(c, ctx, load));
    mount(totals, Object.entries(OUTCOME).map(([k, label]) =>
      h('div', h('dt', label), h('dd', String(c.totals[k] || 0)))));
    mount(body, c.leads.length ? c.leads.map((l) => h('tr',
      h('td', h('a', { href: `#/leads/${l.lead_id}` }, l.name || `ליד ${l.lead_id}`)),
      h('td', { dir: 'ltr' }, fmt.phone(l.phone)),
      h('td', h(`span.badge.outcome-${l.outcome}`, OUTCOME[l.outcome] || l.outcome)),
      h('td', String(l.attempts_made)),
      h('td', l.next_attempt_at ? fmt.dateTime(l.next_attempt_at) : '—'),
      h('td', l.last_error || '')))
      : h('tr', h('td.empty', { colspan: 6 }, 'אין לידים בקמפיין.')));
    const pages = Math.max(1, Math.ceil((c.leads_total || 0) / 50));
    mount(pager,
      page > 1 ? h('a.button', { href: `#/campaigns/${id}?page=${page - 1}` }, '→ הקודם') : null,
      h('span', ` עמוד ${page} מתוך ${pages} `),
      page < pages ? h('a.button', { href: `#/campaigns/${id}?page=${page + 1}` }, 'הבא ←') : null);
  };
  await load();
  mount(view, head,
    h('section', { 'aria-label': 'סיכום תוצאות' }, totals),
    h('div.table-wrap', h('table.data',
      h('caption.visually-hidden', 'לידים בקמפיין'),
      h('thead', h('tr', ['ליד', 'טלפון', 'תוצאה', 'ניסיונות', 'ניסיון הבא', 'שגיאה'].map((t) => h('th', { scope: 'col' }, t)))),
      body)),
    pager,
    h('p', h('a', { href: '#/campaigns' }, 'חזרה לקמפיינים')));
  return poller(load);
}
