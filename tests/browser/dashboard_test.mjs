// The dashboard in a real browser (headless Chromium over the DevTools
// protocol), against the real binary on a fresh database with the provider
// fakes: sign in, watch a simulated call live, find its lead, move it across
// the pipeline (drag and drop, then the keyboard alternative), play a caller
// segment, reply on WhatsApp through the fake provider, create a payment
// link; a read-only token sees no edit controls; the layout is RTL (the
// sidebar on the right) on desktop and phone; the page asks nothing of any
// origin but the service's. Screenshots go to --out.
//
//   node dashboard_test.mjs --agentlocator BIN --fake BIN --sim BIN
//        --schemas DIR --web DIR --out DIR        (AL_TEST_DATABASE_URL set)
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser } from './cdp.mjs';

const T0 = Date.now();
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['agentlocator', 'fake', 'sim', 'schemas', 'web', 'out']) {
  if (!args[k]) {
    console.error(`dashboard_test: --${k} is required`);
    process.exit(2);
  }
}
const DB_URL = process.env.AL_TEST_DATABASE_URL;
if (!DB_URL) {
  console.error('dashboard_test: AL_TEST_DATABASE_URL is not set (run through deploy/test.sh)');
  process.exit(2);
}

let passed = 0;
let failed = 0;
function check(ok, name, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${!ok && detail ? `: ${detail}` : ''} [${((Date.now() - T0) / 1000).toFixed(1)}s]`);
  return ok;
}
const log = (...a) => console.log(`# ${a.join(' ')} [${((Date.now() - T0) / 1000).toFixed(1)}s]`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = [];
const tmp = mkdtempSync(join(tmpdir(), 'al-dash-'));
let dbName = null;
let browser = null;
let page = null;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function withDb(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

function psql(url, ...commands) {
  return execFileSync('psql', ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', url,
    ...commands.flatMap((c) => ['-c', c])], { encoding: 'utf8' }).trim();
}

function start(name, bin, argv, env) {
  const p = spawn(bin, argv, { env: { ...process.env, ...env }, cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  p.output = '';
  const keep = (d) => { p.output += d; if (p.output.length > 200000) p.output = p.output.slice(-100000); };
  p.stdout.on('data', keep);
  p.stderr.on('data', keep);
  p.label = name;
  children.push(p);
  return p;
}

async function until(fn, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e.message; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(100);
  }
}

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  log('browser closed');
  for (const p of children) if (p.exitCode === null) p.kill('SIGTERM');
  await Promise.all(children.map((p) => (p.exitCode !== null ? null : new Promise((r) => {
    const t = setTimeout(() => { p.kill('SIGKILL'); r(); }, 5000);
    p.once('exit', () => { clearTimeout(t); r(); });
  }))));
  log('processes stopped');
  if (dbName) {
    try { psql(DB_URL, `DROP DATABASE IF EXISTS ${dbName}`); } catch { /* best effort */ }
  }
  rmSync(tmp, { recursive: true, force: true });
}

async function main() {
  mkdirSync(args.out, { recursive: true });
  // -- the service on a fresh database, with the provider fakes -------------
  dbName = `al_browser_${process.pid}`;
  psql(DB_URL, `DROP DATABASE IF EXISTS ${dbName}`, `CREATE DATABASE ${dbName}`);
  const fake = start('fake_providers', args.fake, ['--port', '0'], {});
  const fakePort = Number(await until(() => /listening on (\d+)/.exec(fake.output)?.[1], 'fake_providers'));
  const FAKE = `http://127.0.0.1:${fakePort}`;
  const port = await freePort();
  const BASE = `http://127.0.0.1:${port}`;
  const AUTH = 'browser-auth-token';
  const app = start('agentlocator', args.agentlocator, [], {
    PORT: String(port), PUBLIC_BASE_URL: BASE, DATABASE_URL: withDb(DB_URL, dbName),
    SCHEMAS_DIR: args.schemas, WEB_ROOT: args.web, ADMIN_TOKEN: 'browser-admin',
    TWILIO_ACCOUNT_SID: 'ACbrowser', TWILIO_AUTH_TOKEN: AUTH, TWILIO_API_BASE: FAKE,
    PAYMENTS_ENABLED: 'true', PAYPAL_CLIENT_ID: 'browser-client', PAYPAL_SECRET: 'browser-secret',
    PAYPAL_API_BASE: FAKE, META_API_BASE: FAKE, RECORDINGS_DIR: join(tmp, 'recordings'),
    LOG_LEVEL: 'info',
  });
  await until(async () => (await fetch(`${BASE}/healthz`)).ok, 'agentlocator /healthz', 30000);
  log('service up at', BASE, 'fakes at', FAKE);

  const admin = async (method, path, body) => {
    const r = await fetch(BASE + path, {
      method, headers: { Authorization: 'Bearer browser-admin', 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text);
  };
  await admin('PATCH', '/api/admin/businesses/1', { name: 'כהן נדל"ן', phone_numbers: ['+97231234567'] });
  const owner = (await admin('POST', '/api/admin/tokens', { business_id: 1, role: 'owner', name: 'browser' })).token;
  const reader = (await admin('POST', '/api/admin/tokens', { business_id: 1, role: 'read_only', name: 'viewer' })).token;
  const api = async (path, token = owner) => {
    const r = await fetch(BASE + path, { headers: { Authorization: `Bearer ${token}` } });
    if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
    return r.json();
  };

  // A simulated call, running while the browser signs in (the live page
  // should show it). It creates the caller's lead and audio segments.
  const sim = start('al-twilio-sim', args.sim, ['--port', String(port), '--auth-token', AUTH, '--public-base', BASE], {});
  const simDone = new Promise((r) => sim.once('exit', (code) => r(code)));

  browser = await Browser.launch(process.env.CHROMIUM || '/usr/bin/chromium');
  page = await browser.newPage();
  await page.viewport(1280, 860);
  const shot = async (name) => writeFileSync(join(args.out, `${name}.png`), await page.screenshot());

  // -- sign-in: a wrong token gets a Hebrew error, the right one the app ------
  await page.goto(`${BASE}/app`);
  await page.waitFor(() => document.querySelector('input[name=token]'), 'the sign-in form');
  check(await page.eval(() => document.documentElement.dir === 'rtl' && document.documentElement.lang === 'he'),
    'page is Hebrew, dir=rtl');
  const signIn = async (token) => {
    await page.eval(() => { const i = document.querySelector('input[name=token]'); i.value = ''; i.focus(); });
    await page.type(token);
    await page.key('Enter', 'Enter', 13, '\r');
  };
  await signIn('al_not_a_token');
  const err = await page.waitFor(() => document.querySelector('#signin-error')?.textContent, 'sign-in error');
  check(/האסימון אינו מוכר/.test(err), 'a wrong token gets a Hebrew error', err);
  await shot('01-signin-error');
  await signIn(owner);
  await page.waitFor(() => document.querySelector('#sidebar') && document.querySelector('.page h1'), 'the shell');
  check(await page.eval(() => sessionStorage.getItem('al.token')?.startsWith('al_')), 'token kept in sessionStorage');

  // -- live calls: the simulated call shows up while it runs ------------------
  const live = await page.waitFor(() => {
    const row = document.querySelector('tbody tr[data-sid^="CAsim"]');
    return row && row.textContent;
  }, 'the simulated call in "live calls"', 15000).catch((e) => e.message);
  check(/050-123-4567/.test(live), 'live calls show the running call with its caller', live);
  check(await page.waitFor(() => document.querySelector('#live-state')?.dataset.state === 'open', 'event stream open', 5000).catch(() => false),
    'the live event stream is connected');
  await shot('02-live-call');
  // RTL layout: the sidebar is on the right.
  const box = await page.eval(() => {
    const r = document.querySelector('#sidebar').getBoundingClientRect();
    const m = document.querySelector('main').getBoundingClientRect();
    return { left: r.left, right: r.right, width: innerWidth, mainRight: m.right };
  });
  check(box.right >= box.width - 1 && box.left > box.width / 2 && box.mainRight <= box.left + 1,
    'RTL: the sidebar is at the right edge, the content to its left', JSON.stringify(box));
  const fontOk = await page.eval(async () => {
    await document.fonts.ready;
    return document.fonts.check('16px Heebo', 'שלום') && [...document.fonts].some((f) => f.family.replace(/"/g, '') === 'Heebo' && f.status === 'loaded');
  });
  check(fontOk, 'the Hebrew web font (Heebo) is loaded from the service');

  const simCode = await simDone;
  check(simCode === 0, 'the simulated call completed', sim.output.split('\n').filter((l) => l.startsWith('FAIL')).join('; '));
  await page.waitFor(() => !document.querySelector('tbody tr[data-sid^="CAsim"]'), 'the ended call to leave the live table', 10000)
    .then(() => check(true, 'an ended call leaves "live calls" through the event stream'))
    .catch((e) => check(false, 'an ended call leaves "live calls" through the event stream', e.message));

  const leads = await api('/api/crm/leads?q=0501234567');
  if (!check(leads.total === 1, 'the call created one lead', JSON.stringify(leads))) throw new Error('no lead');
  const lead = leads.items[0];

  // -- pipeline board: drag and drop, then the keyboard alternative ---------
  await page.nav(`#/leads`);
  await page.waitFor((id) => document.querySelector(`.lead-card[data-id="${id}"]`), 'the lead on the board', 10000, lead.id);
  check(await page.eval((id) => document.querySelector(`.lead-card[data-id="${id}"]`).closest('.column').dataset.status, lead.id) === 'new',
    'the new lead is in the first column');
  await page.eval((id) => {
    const card = document.querySelector(`.lead-card[data-id="${id}"]`);
    const target = document.querySelector('.column[data-status="contacted"]');
    const dt = new DataTransfer();
    card.dispatchEvent(new DragEvent('dragstart', { bubbles: true, dataTransfer: dt }));
    target.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
    target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
    card.dispatchEvent(new DragEvent('dragend', { bubbles: true, dataTransfer: dt }));
  }, lead.id);
  const afterDrag = await until(async () => {
    const l = await api(`/api/crm/leads/${lead.id}`);
    return l.status === 'contacted' && l;
  }, 'PATCH after the drop', 5000).catch((e) => ({ status: e.message }));
  check(afterDrag.status === 'contacted', 'drag and drop moves the lead (PATCH saved)', afterDrag.status);
  check(await page.eval((id) => document.querySelector(`.lead-card[data-id="${id}"]`).closest('.column').dataset.status, lead.id) === 'contacted',
    'the card sits in its new column');
  // Keyboard: focus the card's "move to" list, pick the next status.
  await page.eval((id) => document.querySelector(`.lead-card[data-id="${id}"] select`).focus(), lead.id);
  await page.eval((id) => {
    const s = document.activeElement;
    if (!s || s.tagName !== 'SELECT' || !s.closest(`.lead-card[data-id="${id}"]`)) throw new Error('the select is not focusable');
    s.value = 'qualified';
    s.dispatchEvent(new Event('change', { bubbles: true }));
  }, lead.id);
  const afterKey = await until(async () => {
    const l = await api(`/api/crm/leads/${lead.id}`);
    return l.status === 'qualified' && l;
  }, 'PATCH after the keyboard move', 5000).catch((e) => ({ status: e.message }));
  check(afterKey.status === 'qualified', 'the keyboard alternative moves the lead', afterKey.status);
  check(await page.eval(() => document.activeElement?.tagName === 'SELECT'), 'focus stays on the moved card');
  await shot('03-pipeline');

  // -- the searchable list (server-side) ------------------------------------
  await page.nav(`#/leads?view=list`);
  await page.waitFor(() => document.querySelector('input[name=q]'), 'the search box');
  await page.eval(() => document.querySelector('input[name=q]').focus());
  await page.type('4567');
  const found = await page.waitFor(() => {
    const rows = document.querySelectorAll('table.data tbody tr');
    return rows.length === 1 && document.querySelector('.summary')?.textContent;
  }, 'search results', 5000).catch((e) => e.message);
  check(/נמצאו 1 לידים/.test(found), 'the list searches on the server', found);

  // -- lead page: play a segment, reply on WhatsApp, send a payment link ----
  await page.nav(`#/leads/${lead.id}`);
  await page.waitFor(() => document.querySelector('.call button.link'), 'the call timeline', 10000);
  await page.eval(() => document.querySelector('.call button.link').click());
  await page.waitFor(() => document.querySelector('.segments button.play'), 'a caller segment', 10000);
  await page.eval(() => document.querySelector('.segments button.play').click());
  const audio = await page.waitFor(() => {
    const a = document.querySelector('.segments audio');
    return a && a.readyState >= 1 && !a.error && { src: a.src, duration: a.duration };
  }, 'the segment to load', 10000).catch((e) => ({ src: e.message }));
  check(audio.src?.startsWith('blob:') && audio.duration > 0.1, 'a caller segment plays (fetched with the token, decoded)', JSON.stringify(audio));

  await page.eval(() => document.querySelector('form.reply textarea').focus());
  const reply = `שלום! נחזור אליך היום ${Date.now() % 10000}`;
  await page.type(reply);
  await page.eval(() => document.querySelector('form.reply button[type=submit]').click());
  const bubble = await page.waitFor((text) => [...document.querySelectorAll('.bubble.out p')].some((p) => p.textContent === text),
    'the sent message in the chat', 10000, reply).catch(() => false);
  check(bubble, 'the WhatsApp reply shows in the chat');
  const sent = (await (await fetch(`${FAKE}/__requests`)).json())
    .filter((r) => r.method === 'POST' && r.target.endsWith('/Messages.json'))
    .map((r) => new URLSearchParams(r.body));
  check(sent.some((p) => p.get('Body') === reply && p.get('To') === 'whatsapp:+972501234567'),
    'the reply went out through the fake Twilio provider', JSON.stringify(sent.map((p) => p.get('Body'))));
  const msgs = await api(`/api/crm/leads/${lead.id}/messages`);
  check(msgs.items.some((m) => m.direction === 'out' && m.body === reply && m.status === 'sent'), 'the reply is stored as sent');

  await page.eval(() => document.querySelector('#payments-title').scrollIntoView());
  await page.eval(() => {
    const form = document.querySelector('form[aria-label="שליחת קישור לתשלום"]');
    form.querySelector('input').focus();
  });
  await page.type('250');
  await page.eval(() => {
    const form = document.querySelector('form[aria-label="שליחת קישור לתשלום"]');
    form.querySelectorAll('input')[1].focus();
  });
  await page.type('דמי תיווך');
  await page.eval(() => document.querySelector('form[aria-label="שליחת קישור לתשלום"] button').click());
  const link = await page.waitFor(() => document.querySelector('.pay-result a')?.href, 'the payment link', 10000).catch((e) => e.message);
  check(/^https?:\/\//.test(link), 'a payment link is created and shown', link);
  const payRow = await page.waitFor(() => document.querySelector('#payments-title')?.parentElement.querySelector('tbody tr')?.textContent, 'the payment row', 5000).catch((e) => e.message);
  check(/₪/.test(payRow) && /250\.00/.test(payRow) && /\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}/.test(payRow),
    'the payment shows in ₪ with dd/mm/yyyy and 24-hour time', payRow);
  const pays = await api(`/api/crm/payments?lead_id=${lead.id}`);
  check(pays.total === 1 && pays.items[0].amount_minor === 25000 && pays.items[0].status === 'pending', 'the payment is stored (₪250, pending)');
  await shot('04-lead');

  // -- Hebrew error for a failed call: a WhatsApp send the provider refuses --
  await page.eval(async (id) => {
    const r = await fetch(`/api/crm/leads/${id}`, { method: 'PATCH', headers: { Authorization: `Bearer ${sessionStorage.getItem('al.token')}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ phone: '+972500000001' }) });
    if (!r.ok) throw new Error(`PATCH ${r.status}`);
  }, lead.id);
  await page.nav(`#/leads/${lead.id}`);
  await page.waitFor(() => document.querySelector('form.reply textarea'), 'the reply box');
  await page.eval(() => document.querySelector('form.reply textarea').focus());
  await page.type('בדיקה');
  await page.eval(() => document.querySelector('form.reply button[type=submit]').click());
  const toastText = await page.waitFor(() => document.querySelector('.toast.error')?.textContent, 'an error toast', 10000).catch((e) => e.message);
  check(/שליחת ההודעה נכשלה: הספק החיצוני דחה את הבקשה/.test(toastText), 'a refused send shows a clear Hebrew error', toastText);
  await shot('05-error');

  // -- phone layout ----------------------------------------------------------
  await page.viewport(390, 844, true);
  await page.nav(`#/leads/${lead.id}`);
  await page.waitFor(() => document.querySelector('.call'), 'the lead page on a phone');
  const phone = await page.eval(() => {
    const s = document.querySelector('#sidebar').getBoundingClientRect();
    const m = document.querySelector('main').getBoundingClientRect();
    return { sw: s.width, top: s.top, mainTop: m.top, width: innerWidth, overflow: document.documentElement.scrollWidth > innerWidth + 1 };
  });
  check(phone.width === 390 && phone.sw >= phone.width - 1 && phone.mainTop >= phone.top && !phone.overflow, 'phone: a top bar, content below, no sideways scroll', JSON.stringify(phone));
  await shot('06-phone');
  if (phone.overflow || phone.width > 390) {
    log('wider than the phone:', JSON.stringify(await page.eval(() => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().width > 391 || (e.getBoundingClientRect().left < 59 && e.getBoundingClientRect().width > 0))
      .slice(0, 8).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().left)}..${Math.round(e.getBoundingClientRect().right)}`))));
  }
  await page.viewport(1280, 860);

  // -- appointments and settings ----------------------------------------------
  await page.nav(`#/appointments`);
  await page.waitFor(() => document.querySelectorAll('.week .day').length === 7, 'the week view');
  check(true, 'appointments show a week of seven days');
  // A new appointment today at 14:30 (Israel time, typed as dd/mm/yyyy HH:MM).
  await page.eval(() => {
    const form = document.querySelector('form[aria-labelledby="new-appt-title"]');
    const [day, at, address] = form.querySelectorAll('input');
    const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Jerusalem', year: 'numeric', month: '2-digit', day: '2-digit' })
      .formatToParts(new Date()).map((x) => [x.type, x.value]));
    day.value = `${p.day}/${p.month}/${p.year}`;
    at.value = '14:30';
    address.value = 'הרצל 1, חיפה';
    form.querySelector('button[type=submit]').click();
  });
  const appt = await page.waitFor(() => document.querySelector('.day.today .appt')?.textContent, 'the new appointment today', 10000).catch((e) => e.message);
  check(/^14:30/.test(appt) && appt.includes('הרצל 1, חיפה'), 'a new appointment shows on today at 14:30 (24-hour)', appt);
  await page.nav(`#/settings`);
  await page.waitFor(() => document.querySelector('form.settings'), 'the settings form');
  const settings = await page.eval(() => ({
    secret: document.querySelector('input[type=password]').value,
    editable: !document.querySelector('form.settings textarea').disabled,
  }));
  check(settings.secret === '' && settings.editable, 'owner settings are editable and never show a secret');
  await page.eval(() => document.querySelector('form.settings textarea').focus());
  await page.type('שלום, הגעתם לכהן נדל"ן');
  await page.eval(() => document.querySelector('form.settings .player button').click());
  const greet = await page.waitFor(() => {
    const a = document.querySelector('form.settings audio');
    return a && a.readyState >= 1 && !a.error && a.duration;
  }, 'the greeting preview', 10000).catch((e) => e.message);
  check(greet > 0.5, 'the greeting preview plays in the embedded voice', String(greet));
  await page.eval(() => {
    const sun = document.querySelector('table.hours tbody tr input[type=checkbox]');
    sun.checked = true;
    document.querySelector('form.settings button[type=submit]').click();
  });
  const saved = await until(async () => {
    const b = await api('/api/crm/business');
    return b.greeting === 'שלום, הגעתם לכהן נדל"ן' && b;
  }, 'the saved settings', 5000).catch((e) => ({ error: e.message }));
  check(saved.greeting && JSON.stringify(saved.working_hours) === '{"sun":["09:00","18:00"]}',
    'owner settings are saved (greeting, working hours)', JSON.stringify(saved.working_hours ?? saved));
  await shot('07-settings');

  // -- sign-out, then a read-only token: no edit controls --------------------
  await page.eval(() => document.querySelector('.signout').click());
  await page.waitFor(() => document.querySelector('input[name=token]'), 'the sign-in form after sign-out');
  check(await page.eval(() => sessionStorage.getItem('al.token') === null), 'sign-out clears the token');
  await signIn(reader);
  await page.waitFor(() => document.querySelector('#sidebar'), 'the shell for read_only');
  await page.nav(`#/leads`);
  await page.waitFor((id) => document.querySelector(`.lead-card[data-id="${id}"]`), 'the board for read_only', 10000, lead.id);
  const roBoard = await page.eval(() => ({
    selects: document.querySelectorAll('.lead-card select').length,
    draggable: document.querySelectorAll('.lead-card[draggable=true]').length,
    add: !!document.querySelector('form[aria-label="ליד חדש"]'),
  }));
  check(roBoard.selects === 0 && roBoard.draggable === 0 && !roBoard.add, 'read_only: the board has no edit controls', JSON.stringify(roBoard));
  await page.nav(`#/leads/${lead.id}`);
  await page.waitFor(() => document.querySelector('#payments-title'), 'the lead page for read_only');
  const roLead = await page.eval(() => ({
    reply: !!document.querySelector('form.reply'),
    pay: !!document.querySelector('form[aria-label="שליחת קישור לתשלום"]'),
    save: [...document.querySelectorAll('button[type=submit]')].length,
    status: document.querySelector('#lead-status').disabled,
  }));
  check(!roLead.reply && !roLead.pay && roLead.save === 0 && roLead.status, 'read_only: the lead page has no edit controls', JSON.stringify(roLead));
  await shot('08-read-only');

  // -- nothing outside the service's origin ------------------------------------
  const foreign = page.requests.filter((u) => !u.startsWith(`${BASE}/`) && !u.startsWith('blob:') && !u.startsWith('data:') && u !== 'about:blank');
  check(foreign.length === 0, `every request stays on the service's origin (${page.requests.length} requests)`, foreign.slice(0, 5).join(' '));
  check(page.consoleErrors.length === 0, 'no uncaught errors in the page', page.consoleErrors.slice(0, 3).join(' | '));
  if (failed) {
    log('service log (tail):');
    console.log(app.output.split('\n').slice(-40).join('\n'));
  }
}

let code = 0;
try {
  await main();
} catch (e) {
  check(false, 'browser test ran to the end', e.stack || e.message);
  if (page) {
    console.log(`# page errors: ${page.consoleErrors.join(' | ')}`);
    try {
      writeFileSync(join(args.out, 'failure.png'), await page.screenshot());
      console.log(`# page text: ${(await page.eval(() => document.body.innerText)).slice(0, 1500)}`);
    } catch { /* the page is gone */ }
  }
  for (const p of children) {
    console.log(`# --- ${p.label} output (tail) ---`);
    console.log(p.output.split('\n').slice(-30).join('\n'));
  }
}
await cleanup();
console.log(`screenshots: ${args.out}`);
console.log(`${passed} passed, ${failed} failed`);
code = failed ? 1 : 0;
process.exit(code);
