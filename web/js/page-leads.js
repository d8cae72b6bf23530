// Leads: a pipeline board (drag a card to another status, or use the
// card's "move to" list from the keyboard) and a searchable, paginated list.
// Everything is filtered and paged by the server, so 10,000 leads cost the
// same as 10.
import { h, mount, field, select, debounce, onSubmit } from './dom.js';
import { get, post, patch, qs } from './api.js';
import * as fmt from './fmt.js';
import { exportButton, importForm } from './csv.js';

const BOARD_PAGE = 30;
const LIST_PAGE = 25;
export const SOURCE = {
  call: 'שיחה', whatsapp: 'וואטסאפ', manual: 'ידני', import: 'ייבוא', web: 'אתר', portal: 'פורטל',
};
export const DEAL = { buy: 'קנייה', rent: 'שכירות', sell: 'מכירה' };

export async function render(view, ctx, { query }) {
  const mode = query.get('view') === 'list' ? 'list' : 'board';
  const tabs = h('div.tabs', { role: 'tablist', 'aria-label': 'תצוגת לידים' },
    h('a.tab', { role: 'tab', href: '#/leads', 'aria-selected': String(mode === 'board') }, 'לוח שלבים'),
    h('a.tab', { role: 'tab', href: '#/leads?view=list', 'aria-selected': String(mode === 'list') }, 'רשימה וחיפוש'));
  const body = h('div');
  const hooks = { reload: null }; // the view's own reload, for after an import
  mount(view,
    h('header.page-head', h('h1', 'לידים'),
      h('div.actions', exportButton(ctx, { label: 'ייצוא כל הלידים ל־CSV', path: () => '/api/crm/leads.csv', filename: 'leads.csv' })),
      ctx.canWrite ? newLeadForm(ctx) : null),
    ctx.canWrite ? importForm(ctx, {
      id: 'leads-import',
      title: 'ייבוא לידים מקובץ CSV',
      path: '/api/crm/leads/import',
      hint: 'שורת כותרות בעברית או באנגלית (למשל שם, טלפון, עיר, עסקה, חדרים, תקציב). ליד עם טלפון קיים מתעדכן.',
      done: () => hooks.reload && hooks.reload(),
    }) : null,
    tabs, body);
  return mode === 'list' ? renderList(body, ctx, query, hooks) : renderBoard(body, ctx, hooks);
}

function newLeadForm(ctx) {
  const name = h('input', { name: 'name', autocomplete: 'off' });
  const phone = h('input', { name: 'phone', type: 'tel', dir: 'ltr', autocomplete: 'off' });
  const form = h('form.inline-form', { 'aria-label': 'ליד חדש' },
    field('שם', name), field('טלפון', phone),
    h('button.primary', { type: 'submit' }, 'הוספת ליד'));
  onSubmit(form, async (e) => {
    e.preventDefault();
    if (!name.value.trim() && !phone.value.trim()) {
      ctx.toast('יש למלא שם או טלפון.', 'error');
      return;
    }
    try {
      const body = {};
      if (name.value.trim()) body.name = name.value.trim();
      if (phone.value.trim()) body.phone = phone.value.trim();
      const lead = await post('/api/crm/leads', body);
      ctx.toast('הליד נוסף.');
      ctx.navigate(`#/leads/${lead.id}`);
    } catch (err) {
      if (err.status === 409 && err.body?.lead_id) {
        ctx.toast('כבר קיים ליד עם הטלפון הזה — עוברים אליו.', 'info');
        ctx.navigate(`#/leads/${err.body.lead_id}`);
      } else {
        ctx.fail('הוספת הליד נכשלה', err);
      }
    }
  });
  return form;
}

// -- board --------------------------------------------------------------------

async function renderBoard(body, ctx, hooks = {}) {
  const statuses = ctx.pipeline;
  const columns = new Map();
  const board = h('div.board', { role: 'list', 'aria-label': 'לוח שלבי הלידים' });
  for (const s of statuses) {
    const list = h('ul.cards', { dataset: { status: s.key }, 'aria-label': s.label });
    const count = h('span.count', '');
    const more = h('a.more', { href: `#/leads?view=list&status=${encodeURIComponent(s.key)}`, hidden: true }, '');
    const col = h('section.column', { role: 'listitem', dataset: { status: s.key }, 'aria-labelledby': `col-${s.key}` },
      h('h2', { id: `col-${s.key}` }, s.label, ' ', count), list, more);
    columns.set(s.key, { col, list, count, more, total: 0 });
    if (ctx.canWrite) {
      col.addEventListener('dragover', (e) => {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'move';
        col.classList.add('drop-target');
      });
      col.addEventListener('dragleave', () => col.classList.remove('drop-target'));
      col.addEventListener('drop', (e) => {
        e.preventDefault();
        col.classList.remove('drop-target');
        const id = e.dataTransfer.getData('text/plain');
        const card = board.querySelector(`.lead-card[data-id="${CSS.escape(id)}"]`);
        if (card && card.dataset.status !== s.key) move(card, s.key);
      });
    }
    board.append(col);
  }
  mount(body,
    ctx.canWrite ? h('p.hint', 'גררו כרטיס לשלב אחר, או בחרו שלב מהרשימה שבכרטיס (נגיש במקלדת).') : null,
    board);

  function card(lead) {
    const li = h('li.lead-card', {
      dataset: { id: lead.id, status: lead.status },
      draggable: ctx.canWrite ? 'true' : null,
    },
    h('a.card-title', { href: `#/leads/${lead.id}` }, lead.name || (lead.phone ? h('bdi', { dir: 'ltr' }, fmt.phone(lead.phone)) : `ליד ${lead.id}`)),
    lead.phone && lead.name ? h('bdi.card-phone', { dir: 'ltr' }, fmt.phone(lead.phone)) : null,
    h('span.card-meta', [SOURCE[lead.source] || lead.source, lead.city, lead.deal ? DEAL[lead.deal] : null]
      .filter(Boolean).join(' · ')),
    ctx.canWrite ? h('label.card-move', h('span.visually-hidden', `העברת ${lead.name || 'הליד'} לשלב`),
      select(statuses.map((s) => [s.key, s.label]), lead.status, { class: 'move-select', 'aria-label': 'העברה לשלב' }))
      : null);
    if (ctx.canWrite) {
      li.addEventListener('dragstart', (e) => {
        e.dataTransfer.setData('text/plain', String(lead.id));
        e.dataTransfer.effectAllowed = 'move';
        li.classList.add('dragging');
      });
      li.addEventListener('dragend', () => li.classList.remove('dragging'));
      li.querySelector('select').addEventListener('change', (e) => move(li, e.target.value, true));
    }
    return li;
  }

  function setCount(key, delta) {
    const c = columns.get(key);
    if (!c) return;
    c.total += delta;
    c.count.textContent = `(${c.total})`;
    const shown = c.list.children.length;
    c.more.hidden = c.total <= shown;
    c.more.textContent = `עוד ${c.total - shown} ברשימה…`;
  }

  async function move(li, to, focus) {
    const from = li.dataset.status;
    const target = columns.get(to);
    if (!target) return;
    target.list.prepend(li); // optimistic
    li.dataset.status = to;
    setCount(from, -1);
    setCount(to, +1);
    const sel = li.querySelector('select');
    if (sel) sel.value = to;
    if (focus && sel) sel.focus();
    try {
      await patch(`/api/crm/leads/${li.dataset.id}`, { status: to });
      ctx.toast(`הליד הועבר ל"${ctx.statusLabel(to)}".`);
    } catch (err) {
      columns.get(from)?.list.prepend(li);
      li.dataset.status = from;
      if (sel) sel.value = from;
      setCount(to, -1);
      setCount(from, +1);
      ctx.fail('העברת הליד נכשלה', err);
    }
  }

  async function load() {
    const pages = await Promise.all(statuses.map((s) =>
      get(`/api/crm/leads${qs({ status: s.key, per_page: BOARD_PAGE, sort: 'updated' })}`)));
    statuses.forEach((s, i) => {
      const c = columns.get(s.key);
      mount(c.list, pages[i].items.map(card));
      c.total = pages[i].total;
      setCount(s.key, 0);
    });
  }
  hooks.reload = () => load().catch((err) => ctx.fail('טעינת הלידים נכשלה', err));
  await load();
  // A call or message may create or move leads: reload, at most every 2 s.
  let pending = null;
  ctx.onEvent((kind) => {
    if (kind !== 'call' && kind !== 'message') return;
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      load().catch(() => {});
    }, 2000);
  });
  return () => clearTimeout(pending);
}

// -- list ---------------------------------------------------------------------

async function renderList(body, ctx, query, hooks = {}) {
  const state = {
    q: query.get('q') || '',
    status: query.get('status') || '',
    source: query.get('source') || '',
    page: Math.max(1, Number(query.get('page')) || 1),
  };
  const search = h('input', { type: 'search', name: 'q', value: state.q, autocomplete: 'off' });
  const status = select([['', 'כל השלבים'], ...ctx.pipeline.map((s) => [s.key, s.label])], state.status, { name: 'status' });
  const source = select([['', 'כל המקורות'], ...Object.entries(SOURCE)], state.source, { name: 'source' });
  const rows = h('tbody');
  const summary = h('p.summary', { role: 'status', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button' }, 'הקודם');
  const next = h('button', { type: 'button' }, 'הבא');
  const pageInfo = h('span.page-info');
  mount(body,
    h('form.filters', { role: 'search', 'aria-label': 'חיפוש לידים', onsubmit: (e) => e.preventDefault() },
      field('חיפוש (שם, טלפון או הערות)', search), field('שלב', status), field('מקור', source)),
    summary,
    h('div.table-wrap', h('table.data',
      h('thead', h('tr', ...['שם', 'טלפון', 'שלב', 'מקור', 'עיר', 'תקציב', 'עודכן']
        .map((t) => h('th', { scope: 'col' }, t)))),
      rows)),
    h('nav.pager', { 'aria-label': 'דפדוף' }, prev, pageInfo, next));

  let seq = 0;
  async function load() {
    const my = ++seq;
    const params = { q: state.q, status: state.status, source: state.source, page: state.page, per_page: LIST_PAGE, sort: 'updated' };
    history.replaceState(null, '', `#/leads${qs({ view: 'list', q: state.q, status: state.status, source: state.source, page: state.page > 1 ? state.page : '' })}`);
    let res;
    try {
      res = await get(`/api/crm/leads${qs(params)}`);
    } catch (err) {
      ctx.fail('חיפוש הלידים נכשל', err);
      return;
    }
    if (my !== seq) return; // a newer search answered first
    const pages = Math.max(1, Math.ceil(res.total / LIST_PAGE));
    summary.textContent = res.total === 0 ? 'לא נמצאו לידים.' : `נמצאו ${res.total.toLocaleString('he-IL')} לידים`;
    pageInfo.textContent = `עמוד ${state.page} מתוך ${pages}`;
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pages;
    mount(rows, res.items.map((l) => h('tr',
      h('td', h('a', { href: `#/leads/${l.id}` }, l.name || `ליד ${l.id}`)),
      h('td', h('bdi', { dir: 'ltr' }, fmt.phone(l.phone))),
      h('td', ctx.statusLabel(l.status)),
      h('td', SOURCE[l.source] || l.source),
      h('td', l.city || ''),
      h('td', budget(l)),
      h('td', fmt.date(l.updated_at)))));
  }
  const reload = () => { state.page = 1; load(); };
  search.addEventListener('input', debounce(() => { state.q = search.value.trim(); reload(); }, 300));
  status.addEventListener('change', () => { state.status = status.value; reload(); });
  source.addEventListener('change', () => { state.source = source.value; reload(); });
  prev.addEventListener('click', () => { state.page -= 1; load(); });
  next.addEventListener('click', () => { state.page += 1; load(); });
  hooks.reload = load;
  await load();
  return null;
}

export function budget(l) {
  if (l.budget_min == null && l.budget_max == null) return '';
  if (l.budget_min != null && l.budget_max != null) return `${fmt.shekels(l.budget_min)}–${fmt.shekels(l.budget_max)}`;
  return l.budget_max != null ? `עד ${fmt.shekels(l.budget_max)}` : `מ־${fmt.shekels(l.budget_min)}`;
}
