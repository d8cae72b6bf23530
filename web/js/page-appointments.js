// Appointments by week (Sunday to Saturday, Israel time): seven day
// columns, previous/next week, a form to add one, a status per appointment.
import { h, mount, field, select, dateInput, timeInput, onSubmit } from './dom.js';
import { get, post, patch, qs } from './api.js';
import * as fmt from './fmt.js';

const APPT_STATUS = { scheduled: 'נקבעה', done: 'התקיימה', cancelled: 'בוטלה', no_show: 'לא הגיע/ה' };

function sundayOf(day) {
  return fmt.addDays(day, -fmt.weekday(day));
}

export async function render(view, ctx, { query }) {
  const requested = query.get('week');
  const start = sundayOf(/^\d{4}-\d{2}-\d{2}$/.test(requested || '') ? requested : fmt.israelDay());
  const end = fmt.addDays(start, 6);
  const res = await get(`/api/crm/appointments${qs({ from: start, to: end, per_page: 200 })}`);
  const byDay = new Map();
  for (const a of res.items) {
    const day = fmt.israelDay(a.starts_at);
    if (!byDay.has(day)) byDay.set(day, []);
    byDay.get(day).push(a);
  }
  const today = fmt.israelDay();
  const days = [];
  for (let i = 0; i < 7; i++) {
    const day = fmt.addDays(start, i);
    const items = (byDay.get(day) || []).sort((a, b) => a.starts_at.localeCompare(b.starts_at));
    days.push(h(`section.day${day === today ? '.today' : ''}`, { 'aria-label': `יום ${fmt.DAY_NAMES[i]} ${fmt.date(`${day}T12:00:00Z`)}` },
      h('h2', h('span', fmt.DAY_NAMES[i]), ' ', h('span.day-date', fmt.date(`${day}T12:00:00Z`))),
      items.length ? h('ul.appts', items.map((a) => appointment(a, ctx))) : h('p.empty', '—')));
  }
  const nav = h('nav.week-nav', { 'aria-label': 'מעבר בין שבועות' },
    h('a.button', { href: `#/appointments?week=${fmt.addDays(start, -7)}` }, '→ השבוע הקודם'),
    h('a.button', { href: '#/appointments' }, 'השבוע'),
    h('a.button', { href: `#/appointments?week=${fmt.addDays(start, 7)}` }, 'השבוע הבא ←'));
  mount(view,
    h('header.page-head', h('h1', 'פגישות'),
      h('p.meta', `${fmt.date(`${start}T12:00:00Z`)} – ${fmt.date(`${end}T12:00:00Z`)}`)),
    nav,
    h('div.week', days),
    ctx.canWrite ? newAppointment(ctx, start) : null);
  return null;
}

function appointment(a, ctx) {
  const status = select(Object.entries(APPT_STATUS), a.status, { disabled: !ctx.canWrite, 'aria-label': 'מצב הפגישה' });
  status.addEventListener('change', async () => {
    const before = a.status;
    try {
      const saved = await patch(`/api/crm/appointments/${a.id}`, { status: status.value });
      a.status = saved.status;
      ctx.toast('מצב הפגישה עודכן.');
    } catch (err) {
      status.value = before;
      ctx.fail('עדכון הפגישה נכשל', err);
    }
  });
  return h(`li.appt.appt-${a.status}`,
    h('strong', fmt.time(a.starts_at)), ' ',
    a.lead_id ? h('a', { href: `#/leads/${a.lead_id}` }, a.lead_name || `ליד ${a.lead_id}`) : null,
    a.address ? h('p', a.address) : null,
    a.notes ? h('p.meta', a.notes) : null,
    status);
}

function newAppointment(ctx, weekStart) {
  const day = dateInput({ required: true, value: fmt.dayText(weekStart) });
  const at = timeInput({ required: true, value: '10:00' });
  const address = h('input', { autocomplete: 'off', maxlength: '500' });
  const lead = h('input', { type: 'number', min: '1', inputmode: 'numeric' });
  const notes = h('input', { autocomplete: 'off', maxlength: '2000' });
  const form = h('form.card.inline-form', { 'aria-labelledby': 'new-appt-title' },
    h('h2#new-appt-title', 'פגישה חדשה'),
    field('תאריך', day), field('שעה', at), field('כתובת', address),
    field('מספר ליד', lead, 'לא חובה'), field('הערות', notes),
    h('button.primary', { type: 'submit' }, 'קביעת פגישה'));
  onSubmit(form, async (e) => {
    e.preventDefault();
    const d = fmt.parseDate(day.value);
    const t = fmt.parseTime(at.value);
    if (!d || !t) {
      ctx.toast(!d ? 'תאריך לא תקין: יש להזין dd/mm/yyyy.' : 'שעה לא תקינה: יש להזין HH:MM (24 שעות).', 'error');
      (!d ? day : at).focus();
      return;
    }
    const body = { starts_at: fmt.israelToIso(d, t) };
    if (address.value.trim()) body.address = address.value.trim();
    if (notes.value.trim()) body.notes = notes.value.trim();
    if (lead.value) body.lead_id = Number(lead.value);
    try {
      await post('/api/crm/appointments', body);
      ctx.toast('הפגישה נקבעה.');
      const week = sundayOf(d);
      if (location.hash === `#/appointments?week=${week}`) window.dispatchEvent(new HashChangeEvent('hashchange'));
      else ctx.navigate(`#/appointments?week=${week}`);
    } catch (err) {
      ctx.fail('קביעת הפגישה נכשלה', err);
    }
  });
  return form;
}
