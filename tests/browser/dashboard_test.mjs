// The dashboard in a real browser (headless Chromium over the DevTools
// protocol), against the real binary on a fresh database with the provider
// fakes: sign in (an owner lands on the overview), watch a simulated call
// live, find its lead, move it across the pipeline (drag and drop, then the
// keyboard alternative), play a caller
// segment, reply on WhatsApp through the fake provider, create a payment
// link; listings: add one (Hebrew text, two features), see it in the list,
// change its status, filter, import a CSV with a Hebrew header and a bad
// line (shown by line), refuse a malformed file, export, import and export
// leads, see the listing among a fitting lead's matches and send it on
// WhatsApp, open it from the call that offered it; a read-only token sees
// no edit controls; the overview's tiles and SVG charts show the seeded
// numbers (also at 375 px); the layout is RTL (the sidebar on the right) on
// desktop and phone; the page asks nothing of any origin but the service's.
// Screenshots go to --out.
//
//   node dashboard_test.mjs --agentlocator BIN --fake BIN --sim BIN
//        --schemas DIR --web DIR --out DIR        (AL_TEST_DATABASE_URL set)
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
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
const servers = [];
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
  for (const s of servers) s.close();
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
  // The office's own system, receiving the outgoing webhooks.
  const hooks = [];
  const receiver = createHttpServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      hooks.push({ path: req.url, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  servers.push(receiver);
  const hookPort = receiver.address().port;
  const port = await freePort();
  const BASE = `http://127.0.0.1:${port}`;
  const AUTH = 'browser-auth-token';
  const app = start('agentlocator', args.agentlocator, [], {
    PORT: String(port), PUBLIC_BASE_URL: BASE, DATABASE_URL: withDb(DB_URL, dbName),
    SCHEMAS_DIR: args.schemas, WEB_ROOT: args.web, ADMIN_TOKEN: 'browser-admin',
    TWILIO_ACCOUNT_SID: 'ACbrowser', TWILIO_AUTH_TOKEN: AUTH, TWILIO_API_BASE: FAKE,
    PAYMENTS_ENABLED: 'true', PAYPAL_CLIENT_ID: 'browser-client', PAYPAL_SECRET: 'browser-secret',
    PAYPAL_API_BASE: FAKE, META_API_BASE: FAKE, RECORDINGS_DIR: join(tmp, 'recordings'),
    LOG_LEVEL: 'info', WEBHOOK_POLL_MS: '200', WEBHOOK_RETRY_BASE_S: '1',
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
  const ownerCall = async (method, path, body) => {
    const r = await fetch(BASE + path, {
      method, headers: { Authorization: `Bearer ${owner}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
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
  // An owner lands on the overview; live calls are one click away.
  const landed = await page.waitFor(() => location.hash === '' && document.querySelector('.nav-link[aria-current=page]')?.dataset.page === 'overview'
    && document.querySelector('.tile[data-tile=calls]'), 'the overview after sign-in', 10000).catch(() => false);
  check(landed, 'an owner signs in to the overview ("סקירה")');
  await page.nav('#/live');
  await page.waitFor(() => document.querySelector('#live-title'), 'live calls');

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
  // The whole two-sided call (record_calls is on by default): Ogg/Opus from
  // the database, played beside the transcript.
  await page.waitFor(() => document.querySelector('.call-media .recording button.play'), 'the whole-call recording', 10000)
    .then(() => page.eval(() => document.querySelector('.call-media .recording button.play').click()))
    .catch(() => {});
  const whole = await page.waitFor(() => {
    const a = document.querySelector('.call-media .recording audio');
    return a && a.readyState >= 1 && !a.error && { src: a.src, duration: a.duration };
  }, 'the recording to load', 10000).catch((e) => ({ src: e.message }));
  check(whole.src?.startsWith('blob:') && whole.duration > 1, 'the whole-call recording plays (Ogg/Opus, both sides)', JSON.stringify(whole));

  // The customer wrote on WhatsApp today: a free-form reply is inside the
  // 24-hour window (SPEC §7; outside it the service refuses with 422).
  const openWindow = (phone) => psql(withDb(DB_URL, dbName),
    'INSERT INTO wa_conversations (business_id, peer, last_seq, last_inbound_at)'
      + ` VALUES (1, 'whatsapp:${phone}', 0, now()) ON CONFLICT (business_id, peer) DO UPDATE SET last_inbound_at = now()`);
  openWindow('+972501234567');
  openWindow('+972500000001');
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

  // -- after every call: the call view (summary, chips, transcript beside the
  // recording, the after-call state) and the settings that go with it -------
  const db0 = withDb(DB_URL, dbName);
  const ronit = await ownerCall('POST', '/api/crm/leads', { name: 'רונית אברהם', phone: '+972502223344', source: 'call' });
  const FIELDS = {
    summary: 'רונית מחפשת דירת 4 חדרים לקנייה ברמת גן, עד 2.5 מיליון. ביקשה שיחזרו אליה מחר בבוקר.',
    deal: 'buy', city: 'רמת גן', rooms: 4, budget: 2500000, callback_time: 'מחר ב־10:00',
    next_step: 'לשלוח שלוש דירות מתאימות בוואטסאפ', sentiment: 'positive', source: 'ai',
  };
  const LINES = [
    ['agent', 'שלום, הגעתם לכהן נדל"ן. במה אפשר לעזור?'],
    ['caller', 'היי, אני מחפשת דירה לקנות ברמת גן'],
    ['agent', 'כמה חדרים ומה התקציב?'],
    ['caller', 'ארבעה חדרים, עד שניים וחצי מיליון'],
  ];
  const q = (v) => `$q$${v}$q$`;
  psql(db0,
    'INSERT INTO calls (business_id, call_sid, from_number, to_number, status, lead_id, ended_normally, summary, summary_fields, created_at, started_at, ended_at)'
      + ` VALUES (1, 'CAafter-done', '+972502223344', '+97231234567', 'completed', ${ronit.id}, true, ${q(FIELDS.summary)}, ${q(JSON.stringify(FIELDS))}::jsonb,`
      + " now(), now() - interval '3 minutes', now())",
    'INSERT INTO call_events (business_id, call_sid, seq, kind, detail) VALUES '
      + LINES.map(([role, text], i) => `(1, 'CAafter-done', ${i + 1}, 'transcript', ${q(JSON.stringify({ role, text }))}::jsonb)`).join(', '),
    "INSERT INTO after_call_jobs (call_sid, business_id, status, attempts, ready) VALUES ('CAafter-done', 1, 'done', 1, true)",
    // The whole two-sided call as the recorder keeps it (the bytes do not
    // matter here: the sim call's own recording is played further on).
    "WITH a AS (INSERT INTO call_audio (business_id, call_sid, kind, content_type, total_bytes, duration_ms, complete)"
      + " VALUES (1, 'CAafter-done', 'call', 'audio/ogg', 4, 180000, true) RETURNING id)"
      + " INSERT INTO call_audio_chunks (audio_id, chunk_no, data) SELECT id, 0, '\\x4f676753'::bytea FROM a",
    'INSERT INTO calls (business_id, call_sid, from_number, status, lead_id, ended_normally, created_at, started_at, ended_at)'
      + ` VALUES (1, 'CAafter-failed', '+972502223344', 'completed', ${ronit.id}, true, now() - interval '1 hour', now() - interval '62 minutes', now() - interval '1 hour'),`
      + ` (1, 'CAafter-pending', '+972502223344', 'completed', ${ronit.id}, true, now() - interval '2 hours', now() - interval '122 minutes', now() - interval '2 hours')`,
    "INSERT INTO after_call_jobs (call_sid, business_id, status, attempts, ready, last_error, next_at) VALUES"
      + " ('CAafter-failed', 1, 'failed', 3, true, 'transcription: 503 from STT_API_BASE', now()),"
      + " ('CAafter-pending', 1, 'pending', 0, true, NULL, now() + interval '1 day')");
  await page.nav(`#/leads/${ronit.id}`);
  await page.waitFor(() => document.querySelector('.call[data-sid="CAafter-done"] button.link'), 'the seeded calls', 10000);
  await page.eval(() => document.querySelector('.call[data-sid="CAafter-done"] button.link').click());
  const view = await page.waitFor(() => {
    const el = document.querySelector('.call[data-sid="CAafter-done"] .call-details');
    if (!el?.querySelector('.call-summary') || !el.querySelector('.transcript-lines')) return null;
    const chips = {};
    for (const li of el.querySelectorAll('.facts .fact')) chips[li.dataset.field] = li.textContent;
    const rec = el.querySelector('.call-media .recording')?.getBoundingClientRect();
    const tr = el.querySelector('.call-media .transcript')?.getBoundingClientRect();
    return {
      first: el.firstElementChild?.className,
      text: el.querySelector('.call-summary-text')?.textContent,
      chips,
      mood: el.querySelector('.sentiment')?.textContent,
      moodClass: el.querySelector('.sentiment')?.className,
      lines: [...el.querySelectorAll('.transcript-lines li')].map((li) => [li.querySelector('.speaker').textContent, li.querySelector('.said').textContent]),
      play: el.querySelector('.call-media .recording button.play')?.textContent,
      side: rec && tr ? { recLeft: Math.round(rec.left), recTop: Math.round(rec.top), trRight: Math.round(tr.right), trTop: Math.round(tr.top) } : null,
      status: el.querySelector('.after-call')?.textContent ?? null,
      headSummaryHidden: getComputedStyle(document.querySelector('.call[data-sid="CAafter-done"] .call-head .summary')).display === 'none',
    };
  }, 'the call view with its summary and transcript', 10000).catch((e) => ({ error: e.message }));
  log('call view:', JSON.stringify(view));
  check(view.first === 'call-summary' && view.text === FIELDS.summary, 'the call view opens with the summary', JSON.stringify(view));
  check(view.chips && view.chips.deal === 'עסקה: קנייה' && view.chips.city === 'עיר: רמת גן' && view.chips.rooms === 'חדרים: 4'
    && /^תקציב: /.test(view.chips.budget) && view.chips.budget.includes('2,500,000') && view.chips.budget.includes('₪')
    && view.chips.callback_time === `מועד לחזרה: ${FIELDS.callback_time}` && view.chips.next_step === `הצעד הבא: ${FIELDS.next_step}`,
  'the summary fields show as labelled chips (₪ budget)', JSON.stringify(view.chips));
  check(/חיובי$/.test(view.mood || '') && /sent-positive/.test(view.moodClass || ''), 'the sentiment is a coloured badge', `${view.mood} ${view.moodClass}`);
  check(JSON.stringify(view.lines) === JSON.stringify(LINES.map(([r, t]) => [r === 'agent' ? 'נציג' : 'מתקשר', t])),
    'the transcript lines show in order, each with its speaker (מתקשר / נציג)', JSON.stringify(view.lines));
  check(view.play === '▶ הקלטת השיחה' && view.side && view.side.trRight <= view.side.recLeft + 1 && Math.abs(view.side.trTop - view.side.recTop) < 5,
    'desktop: the recording\'s player with the transcript beside it (RTL: the player on the right)', JSON.stringify(view.side));
  check(view.status === null && view.headSummaryHidden, 'a finished call shows no after-call state, and its summary once', JSON.stringify(view));
  await page.eval(() => document.querySelector('.call[data-sid="CAafter-done"]').scrollIntoView());
  await shot('19-call-summary');
  for (const sid of ['CAafter-failed', 'CAafter-pending']) {
    await page.eval((s) => document.querySelector(`.call[data-sid="${s}"] button.link`).click(), sid);
  }
  const states = await page.waitFor(() => {
    const f = document.querySelector('.call[data-sid="CAafter-failed"] .after-call');
    const w = document.querySelector('.call[data-sid="CAafter-pending"] .after-call');
    return f && w && { failed: f.textContent, failedRole: f.getAttribute('role'), pending: w.textContent };
  }, 'the after-call states', 10000).catch((e) => ({ failed: e.message }));
  check(states.pending === 'מתמלל ומסכם…', 'a call still being processed says "מתמלל ומסכם…"', states.pending);
  check(/נכשלו אחרי 3 ניסיונות/.test(states.failed) && states.failed.includes('503 from STT_API_BASE') && states.failedRole === 'alert',
    'a failed after-call job shows its error and the attempts', states.failed);
  // A phone: the player above the transcript, nothing wider than the screen.
  await page.viewport(390, 844, true);
  await sleep(200);
  const stacked = await page.eval(() => {
    const el = document.querySelector('.call[data-sid="CAafter-done"]');
    const rec = el.querySelector('.call-media .recording').getBoundingClientRect();
    const tr = el.querySelector('.call-media .transcript').getBoundingClientRect();
    return { recBottom: Math.round(rec.bottom), trTop: Math.round(tr.top), overflow: document.documentElement.scrollWidth > innerWidth + 1 };
  });
  check(stacked.trTop >= stacked.recBottom - 1 && !stacked.overflow, 'phone: the transcript stacks under the player, no sideways scroll', JSON.stringify(stacked));
  await page.eval(() => document.querySelector('.call[data-sid="CAafter-done"]').scrollIntoView());
  await shot('20-call-summary-phone');
  await page.viewport(1280, 860);

  // Settings: the recording toggle, and the webhook with a test event that
  // reaches a receiver here (signed with the secret), and a failed delivery
  // sent again.
  await page.nav('#/settings');
  await page.waitFor(() => document.querySelector('form.settings') && document.querySelector('form.webhooks .deliveries p, form.webhooks .deliveries table'),
    'the settings with the webhook card', 10000);
  const rc = await page.eval(() => {
    const box = document.querySelector('#set-record')?.closest('section').querySelector('input[type=checkbox]');
    return box && { checked: box.checked, label: box.closest('label')?.textContent, hint: document.getElementById(box.getAttribute('aria-describedby'))?.textContent };
  });
  check(rc && rc.checked && /הקלטת/.test(rc.label) && /הודעה קצרה/.test(rc.hint), 'settings: "הקלטת שיחות" is on by default, saying callers hear a notice', JSON.stringify(rc));
  const wh = await page.eval(() => {
    const f = document.querySelector('form.webhooks');
    const url = f?.querySelector('input[type=url]');
    const secret = f?.querySelector('input[type=password]');
    const lab = (i) => i && document.querySelector(`label[for="${i.id}"]`)?.textContent;
    return f && { url: lab(url), secret: lab(secret), value: url.value, placeholder: secret.placeholder, test: !!f.querySelector('#webhook-test'), save: !!f.querySelector('button[type=submit]') };
  });
  check(wh && wh.url && wh.secret && wh.value === '' && wh.test && wh.save, 'settings: the webhook card has a labelled URL, secret, save and test', JSON.stringify(wh));
  await page.eval(() => document.querySelector('#webhook-test').click());
  const noUrl = await page.waitFor(() => document.querySelector('#webhook-test-result.form-error')?.textContent, 'the 422 of a test without a URL', 10000).catch((e) => e.message);
  check(/לא הוגדרה כתובת/.test(noUrl), 'a test event without a URL says so (422)', noUrl);
  // Record calls off, with the main save.
  await page.eval(() => {
    document.querySelector('#set-record').closest('section').querySelector('input[type=checkbox]').click();
    document.querySelector('form.settings button[type=submit]').click();
  });
  const recOff = await until(async () => (await api('/api/crm/business')).record_calls === false, 'record_calls saved', 5000).catch(() => false);
  check(recOff, 'settings: switching "הקלטת שיחות" off is saved (record_calls false)');
  await page.waitFor(() => !document.querySelector('form.settings[aria-busy]'), 'the save to finish', 10000);
  await page.nav('#/settings');
  await page.waitFor(() => document.querySelector('form.webhooks .deliveries p, form.webhooks .deliveries table'), 'the settings again', 10000);
  const hookUrl = `http://127.0.0.1:${hookPort}/hooks/agentlocator`;
  await page.eval(() => document.querySelector('form.webhooks input[type=url]').focus());
  await page.type(hookUrl);
  await page.eval(() => document.querySelector('form.webhooks input[type=password]').focus());
  await page.type('whsec-browser');
  await page.eval(() => document.querySelector('form.webhooks button[type=submit]').click());
  const hookSaved = await until(async () => {
    const b = await api('/api/crm/business');
    return b.webhook_url === hookUrl && b.webhook_secret_set === true && b;
  }, 'the webhook saved', 5000).catch((e) => ({ error: e.message }));
  check(hookSaved.webhook_url === hookUrl && !('webhook_secret' in hookSaved), 'the webhook URL and secret are saved (the secret is never shown)', JSON.stringify(hookSaved));
  const afterSave = await page.waitFor(() => {
    const s = document.querySelector('form.webhooks input[type=password]');
    return !document.querySelector('form.webhooks[aria-busy]') && { value: s.value, placeholder: s.placeholder };
  }, 'the webhook form after the save', 5000).catch((e) => ({ value: e.message }));
  check(afterSave.value === '' && /מוגדר/.test(afterSave.placeholder), 'after the save the secret field is empty and says one is set', JSON.stringify(afterSave));
  await page.nav('#/settings');
  const roundTrip = await page.waitFor(() => document.querySelector('form.webhooks input[type=url]')?.value, 'the reloaded webhook form', 10000).catch((e) => e.message);
  check(roundTrip === hookUrl, 'the webhook URL round-trips through a reload', roundTrip);
  await page.eval(() => document.querySelector('#webhook-test').click());
  const testId = await page.waitFor(() => document.querySelector('#webhook-test-result.ok bdi')?.textContent, 'the test event id', 10000).catch((e) => e.message);
  check(/^evt_[0-9a-f]{24}$/.test(testId), 'a test event is queued and its id shown (202)', testId);
  const got = await until(() => hooks.find((x) => x.body.includes(testId)), 'the test event at the receiver', 15000).catch(() => null);
  const expectSig = got && `sha256=${createHmac('sha256', 'whsec-browser').update(got.body).digest('hex')}`;
  check(got && got.headers['x-agentlocator-signature'] === expectSig && JSON.parse(got.body).id === testId,
    'the test event reaches the webhook URL, signed with the secret', got ? `${got.headers['x-agentlocator-signature']} vs ${expectSig}` : 'not received');
  // A delivery that failed for good: shown with its last answer, sent again.
  psql(db0, "INSERT INTO webhook_outbox (id, business_id, event, body, status, attempts, last_status, last_error, created_at)"
    + " VALUES ('evt_0000000000000000000000aa', 1, 'call.completed', '{\"id\":\"evt_0000000000000000000000aa\",\"event\":\"call.completed\",\"business_id\":1,\"data\":{}}',"
    + " 'failed', 7, 500, 'Internal Server Error', now() - interval '1 minute')");
  await page.nav('#/settings');
  const rows = await page.waitFor(() => {
    const trs = [...document.querySelectorAll('form.webhooks tbody tr')];
    const f = trs.find((tr) => tr.dataset.id === 'evt_0000000000000000000000aa');
    const t = trs.find((tr) => tr.dataset.status === 'delivered');
    return f && t && { failed: f.textContent, attempts: f.querySelector('td.num')?.textContent, retry: !!f.querySelector('button.retry'),
      delivered: t.textContent, retryOnDelivered: !!t.querySelector('button.retry') };
  }, 'the deliveries table', 15000).catch((e) => ({ failed: e.message }));
  check(/נכשל/.test(rows.failed) && rows.failed.includes('HTTP 500') && rows.failed.includes('Internal Server Error') && rows.attempts === '7' && rows.retry && !rows.retryOnDelivered
    && /נמסר/.test(rows.delivered), 'the deliveries table: event, status badge, attempts, last answer; a retry button on the failed row only', JSON.stringify(rows));
  await shot('21-settings-webhooks');
  await page.eval(() => document.querySelector('form.webhooks tr[data-id="evt_0000000000000000000000aa"] button.retry').click());
  const retried = await until(() => hooks.some((x) => x.body.includes('evt_0000000000000000000000aa')), 'the retried delivery at the receiver', 15000).catch(() => false);
  check(retried, 'retry sends a failed delivery again (the receiver gets it, same id)');
  const rowAfter = await page.waitFor(() => document.querySelector('form.webhooks tr[data-id="evt_0000000000000000000000aa"]')?.dataset.status !== 'failed'
    && document.querySelector('form.webhooks tr[data-id="evt_0000000000000000000000aa"]')?.dataset.status, 'the retried row', 10000).catch((e) => e.message);
  check(rowAfter === 'pending' || rowAfter === 'delivered', 'the retried row leaves "failed"', rowAfter);
  // Back to the defaults the rest of the test expects.
  await ownerCall('PATCH', '/api/crm/settings', { record_calls: true });

  // -- listings: add one, see it, import a CSV, export, a lead that fits -----
  const navLabels = await page.eval(() => [...document.querySelectorAll('.nav-link')].map((a) => a.textContent));
  check(navLabels.indexOf('נכסים') === navLabels.indexOf('לידים') + 1, 'the nav has "נכסים" right after "לידים"', navLabels.join(', '));

  // -- the WhatsApp inbox and the campaigns page ------------------------------
  // The lead page's send above made a conversation: the inbox lists it and
  // opens its thread.
  await page.nav('#/inbox');
  const convs = await page.waitFor(() => document.querySelectorAll('ul.conv-list button.conv').length, 'the inbox list', 10000).catch((e) => e.message);
  check(typeof convs === 'number' && convs >= 1, 'the inbox lists the conversation the lead page wrote to', String(convs));
  if (typeof convs === 'number') {
    await page.eval(() => document.querySelector('ul.conv-list button.conv').click());
    const bubbles = await page.waitFor(() => document.querySelectorAll('li.bubble').length, 'the thread', 10000).catch((e) => e.message);
    check(typeof bubbles === 'number' && bubbles >= 1, 'opening a conversation shows its thread', String(bubbles));
  }
  await shot('30-inbox');
  await page.nav('#/campaigns');
  const campTitle = await page.waitFor(() => document.querySelector('.page h1')?.textContent === 'קמפיינים' && document.querySelector('.page h1').textContent, 'the campaigns page', 10000).catch((e) => e.message);
  check(campTitle === 'קמפיינים', 'the campaigns page renders', campTitle);
  await shot('31-campaigns');

  await page.nav('#/listings');
  await page.waitFor(() => document.querySelector('#new-listing') && document.querySelector('.page .summary')?.textContent, 'the listings page', 10000);
  await page.eval(() => document.querySelector('#new-listing').click());
  await page.waitFor(() => document.querySelector('form.listing-form'), 'the new listing form');
  const PHOTO = `${BASE}/app/favicon.svg`; // same origin: the page loads nothing from elsewhere
  const TITLE = '4 חדרים ברמת גן, קרוב לפארק';
  const fill = async (name, text) => {
    await page.eval((n) => {
      const el = document.querySelector(`form.listing-form [name="${n}"]`);
      el.value = '';
      el.focus();
    }, name);
    await page.type(text);
  };
  await fill('title', TITLE);
  await page.eval(() => {
    const s = document.querySelector('form.listing-form select[name=deal]');
    s.value = 'buy';
    s.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await fill('city', 'רמת גן');
  await fill('neighborhood', 'הבורסה');
  await fill('rooms', '4');
  await fill('floor', '3');
  await fill('size_sqm', '95');
  await fill('price', '2450000');
  await fill('description', 'דירה מוארת עם נוף פתוח, משופצת מהיסוד');
  await fill('photos', PHOTO);
  const featureLabels = await page.eval(() => [...document.querySelectorAll('form.listing-form .feature')].map((l) => l.textContent.trim()));
  check(featureLabels.join(',') === 'חניה,מעלית,ממ"ד,מרפסת,מחסן,נגיש,מרוהט,מיזוג,גינה,משופץ',
    'the features are checkboxes with Hebrew labels', featureLabels.join(','));
  await page.eval(() => {
    for (const k of ['parking', 'safe_room']) document.querySelector(`form.listing-form input[type=checkbox][value="${k}"]`).click();
  });
  // The submit handler disables its button before the request goes out.
  const during = await page.eval(() => {
    const b = document.querySelector('form.listing-form button[type=submit]');
    b.click();
    return b.disabled && b.textContent;
  });
  check(during === 'שומר…', 'while saving, the button is disabled and shows progress', String(during));
  const opened = await page.waitFor((t) => /^#\/listings\/\d+$/.test(location.hash) && document.querySelector('.page h1')?.textContent === t && location.hash,
    'the saved listing', 10000, TITLE).catch((e) => e.message);
  const listingId = Number(/^#\/listings\/(\d+)$/.exec(opened)?.[1]);
  check(listingId > 0, 'a new listing is saved and opened', opened);
  const stored = listingId ? await api(`/api/crm/listings/${listingId}`).catch((e) => ({ error: e.message })) : {};
  check(stored.title === TITLE && stored.deal === 'buy' && stored.city === 'רמת גן' && Number(stored.rooms) === 4
    && stored.price === 2450000 && stored.size_sqm === 95 && stored.floor === 3
    && JSON.stringify([...(stored.features || [])].sort()) === '["parking","safe_room"]' && stored.photos?.[0] === PHOTO,
  'the listing is stored with its Hebrew text, two features and its photo', JSON.stringify(stored));
  await shot('09-listing-form');

  await page.nav('#/listings');
  const cardText = await page.waitFor((id) => document.querySelector(`.listing-card[data-id="${id}"]`)?.textContent,
    'the new listing in the list', 10000, listingId).catch((e) => e.message);
  check(cardText.includes(TITLE) && cardText.includes('2,450,000') && cardText.includes('₪') && cardText.includes('רמת גן')
    && cardText.includes('4 חדרים') && cardText.includes('זמין') && /לידים מתאימים|ליד מתאים/.test(cardText),
  'the list shows title, city, rooms, price in ₪, status and matching leads', cardText);
  const img = await page.waitFor((id) => {
    const i = document.querySelector(`.listing-card[data-id="${id}"] img`);
    return i && i.complete && { alt: i.alt, width: i.naturalWidth };
  }, 'the thumbnail', 5000, listingId).catch((e) => ({ alt: e.message }));
  check(img.alt?.includes(TITLE) && img.width > 0, 'the first photo is a thumbnail with alt text', JSON.stringify(img));
  // Quick status change on the card, and back.
  const setStatus = (id, value) => page.eval((i, v) => {
    const s = document.querySelector(`.listing-card[data-id="${i}"] select.status-select`);
    s.value = v;
    s.dispatchEvent(new Event('change', { bubbles: true }));
  }, id, value);
  await setStatus(listingId, 'reserved');
  const reserved = await until(async () => (await api(`/api/crm/listings/${listingId}`)).status === 'reserved', 'PATCH status', 5000).catch(() => false);
  // The card redraws after the PATCH answers: wait for it, not for a fixed time.
  const pill = await page.waitFor((id) => {
    const t = document.querySelector(`.listing-card[data-id="${id}"] .pill`)?.textContent;
    return t === 'שמור' ? t : null;
  }, 'the card shows the new status', 5000, listingId).catch(() =>
    page.eval((id) => document.querySelector(`.listing-card[data-id="${id}"] .pill`)?.textContent, listingId));
  check(reserved && pill === 'שמור', 'a quick status change on the card is saved', pill);
  await page.waitFor((id) => !document.querySelector(`.listing-card[data-id="${id}"] select.status-select`).disabled, 'the status select', 5000, listingId);
  await setStatus(listingId, 'available');
  await until(async () => (await api(`/api/crm/listings/${listingId}`)).status === 'available', 'PATCH status back', 5000);
  // A filter (server-side): rentals only hides it.
  await page.eval(() => {
    const s = document.querySelector('form.filters select[name=deal]');
    s.value = 'rent';
    s.dispatchEvent(new Event('change', { bubbles: true }));
  });
  const filtered = await page.waitFor((id) => !document.querySelector(`.listing-card[data-id="${id}"]`) && /#\/listings\?deal=rent/.test(location.hash),
    'the filtered list', 5000, listingId).catch(() => false);
  check(filtered, 'the deal filter (server-side) hides a listing for sale');
  await page.eval(() => {
    const s = document.querySelector('form.filters select[name=deal]');
    s.value = '';
    s.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await page.waitFor((id) => document.querySelector(`.listing-card[data-id="${id}"]`), 'the unfiltered list', 5000, listingId);

  // CSV import: a Hebrew header row (with a BOM), two good lines, one bad.
  const listingsCsv = join(tmp, 'נכסים.csv');
  writeFileSync(listingsCsv, `\uFEFF${[
    'כותרת,עסקה,עיר,חדרים,מחיר,מספר מודעה',
    'דירת גן בגבעתיים,buy,גבעתיים,5,3200000,csv-1',
    'דירה להשכרה בחולון,rent,חולון,3,6500,csv-2',
    ',buy,תל אביב,3,2000000,csv-3',
  ].join('\r\n')}\r\n`);
  await page.eval(() => { document.querySelector('#listings-import').open = true; });
  await page.setFiles('#listings-import input[type=file]', [listingsCsv]);
  const uploading = await page.eval(() => {
    const b = document.querySelector('#listings-import button[type=submit]');
    b.click();
    return b.disabled && !document.querySelector('#listings-import progress').hidden && b.textContent;
  });
  check(uploading === 'מייבא…', 'while uploading, the import button is disabled and a progress bar shows', String(uploading));
  const imported = await page.waitFor(() => document.querySelector('#listings-import .import-summary')?.textContent
    || document.querySelector('#listings-import .form-error')?.textContent, 'the import result', 15000).catch((e) => e.message);
  check(/נוצרו 2, עודכנו 0, 1 שורות לא יובאו/.test(imported), 'the import shows what was created and updated', imported);
  const errTable = await page.eval(() => ({
    head: [...document.querySelectorAll('#listings-import table.import-errors th')].map((t) => t.textContent).join(' / '),
    rows: [...document.querySelectorAll('#listings-import table.import-errors tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent)),
  }));
  check(errTable.head === 'שורה / שגיאה' && errTable.rows.length === 1 && errTable.rows[0][0] === '4' && errTable.rows[0][1].length > 0,
    'the bad line is shown in a "שורה / שגיאה" table', JSON.stringify(errTable));
  const gan = await page.waitFor(() => [...document.querySelectorAll('.listing-card .card-title')].some((a) => a.textContent === 'דירת גן בגבעתיים'),
    'the imported listing in the list', 5000).catch(() => false);
  check(gan, 'the list reloads with the imported listings');
  const rent = await api(`/api/crm/listings?${new URLSearchParams({ city: 'חולון' })}`).catch((e) => ({ items: [], error: e.message }));
  check(rent.items?.some((l) => l.external_ref === 'csv-2' && l.deal === 'rent' && l.price === 6500), 'the imported rental is stored', JSON.stringify(rent));
  await page.waitFor(() => [...document.querySelectorAll('.listing-card')].some((c) => c.textContent.includes('6,500') && c.textContent.includes('לחודש')),
    'a rent price per month', 5000)
    .then(() => check(true, 'a rent price shows "לחודש"'))
    .catch((e) => check(false, 'a rent price shows "לחודש"', e.message));
  await page.eval(() => document.querySelector('#listings-import').scrollIntoView());
  await shot('10-listings-import');
  // A file that is not UTF-8 CSV: the reason shows beside the form, nothing is imported.
  const before = (await api('/api/crm/listings?per_page=1')).total;
  const badCsv = join(tmp, 'utf16.csv');
  writeFileSync(badCsv, Buffer.from([0xff, 0xfe, 0x74, 0x00, 0x69, 0x00, 0x0a, 0x00]));
  await page.setFiles('#listings-import input[type=file]', [badCsv]);
  await page.eval(() => document.querySelector('#listings-import button[type=submit]').click());
  const refused = await page.waitFor(() => document.querySelector('#listings-import .form-error')?.textContent, 'the refused file', 10000).catch((e) => e.message);
  const after = (await api('/api/crm/listings?per_page=1')).total;
  check(/^הקובץ לא יובא: הבקשה אינה תקינה/.test(refused) && after === before, 'a malformed file is refused with its reason, nothing imported', `${refused} (${before} -> ${after})`);

  // Export: the request (with the token) succeeds and the file is saved.
  const downloads = join(tmp, 'downloads');
  mkdirSync(downloads, { recursive: true });
  await page.allowDownloads(downloads);
  await page.eval(() => document.querySelector('.export-csv').click());
  await page.waitFor(() => [...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('listings.csv')), 'the export toast', 10000).catch(() => false);
  const exportAnswer = page.responses.filter((r) => r.url.startsWith(`${BASE}/api/crm/listings.csv`)).map((r) => r.status);
  check(exportAnswer.includes(200), 'export: GET /api/crm/listings.csv answers 200', JSON.stringify(exportAnswer));
  const file = join(downloads, 'listings.csv');
  const csvText = await until(() => page.downloads.some((d) => d.state === 'completed') && existsSync(file) && readFileSync(file, 'utf8'), 'the downloaded file', 5000)
    .catch((e) => e.message);
  check(csvText.includes(TITLE) && csvText.includes('דירת גן בגבעתיים'), 'export: listings.csv is downloaded with the listings', csvText.slice(0, 200));

  // Leads: import (Hebrew header) and export on the leads page.
  const leadsCsv = join(tmp, 'לידים.csv');
  writeFileSync(leadsCsv, 'שם,טלפון,עיר\r\nדנה לוי,050-7654321,חיפה\r\n');
  await page.nav('#/leads?view=list');
  await page.waitFor(() => document.querySelector('#leads-import') && document.querySelector('.page .summary')?.textContent, 'the leads list');
  await page.eval(() => { document.querySelector('#leads-import').open = true; });
  await page.setFiles('#leads-import input[type=file]', [leadsCsv]);
  await page.eval(() => document.querySelector('#leads-import button[type=submit]').click());
  const leadsImported = await page.waitFor(() => document.querySelector('#leads-import .import-summary')?.textContent
    || document.querySelector('#leads-import .form-error')?.textContent, 'the leads import result', 15000).catch((e) => e.message);
  const dana = await api('/api/crm/leads?q=0507654321').catch(() => ({ items: [] }));
  check(/נוצרו 1/.test(leadsImported) && dana.items?.[0]?.name === 'דנה לוי', 'leads: a CSV with a Hebrew header imports a lead', `${leadsImported} ${JSON.stringify(dana.items?.[0] || {})}`);
  await page.eval(() => document.querySelector('.export-csv').click());
  const leadsExport = await until(() => page.responses.find((r) => r.url.startsWith(`${BASE}/api/crm/leads.csv`)), 'the leads export', 10000)
    .catch(() => ({ status: 'no request' }));
  check(leadsExport.status === 200, 'leads: GET /api/crm/leads.csv answers 200', String(leadsExport.status));

  // A lead that fits: it sees the listing, sends it on WhatsApp; the call
  // that offered it links to it.
  const ownerSend = async (method, path, body) => {
    const r = await fetch(BASE + path, {
      method, headers: { Authorization: `Bearer ${owner}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  await ownerSend('PATCH', `/api/crm/leads/${lead.id}`, { phone: '+972501234567', deal: 'buy', city: 'רמת גן', rooms: 4, budget_max: 2600000 });
  const callSid = (await api(`/api/crm/calls?lead_id=${lead.id}`)).items[0]?.sid;
  // What the AI's search_listings records on a call (no AI in this test).
  psql(withDb(DB_URL, dbName), `INSERT INTO listing_mentions (business_id, listing_id, call_sid) VALUES (1, ${listingId}, '${callSid}')`);
  await page.nav(`#/leads/${lead.id}`);
  const match = await page.waitFor((id) => document.querySelector(`.match[data-id="${id}"]`)?.textContent, 'the listing among the matches', 10000, listingId)
    .catch((e) => e.message);
  check(match.includes(TITLE) && match.includes('2,450,000'), 'the lead page shows the listing that fits ("נכסים מתאימים")', match);
  await page.eval((id) => {
    document.querySelector('#matches-title').scrollIntoView();
    document.querySelector(`.match[data-id="${id}"] .send-offer`).click();
  }, listingId);
  const offerToast = await page.waitFor(() => [...document.querySelectorAll('.toast')].map((t) => t.textContent).find((t) => t.includes('בוואטסאפ')),
    'the offer toast', 10000).catch((e) => e.message);
  check(/נשלח בוואטסאפ/.test(offerToast), 'sending a listing on WhatsApp confirms with a toast', offerToast);
  const piled = await page.eval(() => document.querySelectorAll('.toast').length);
  check(piled === 1, 'toasts do not pile up (one message after several actions)', String(piled));
  const offers = (await (await fetch(`${FAKE}/__requests`)).json())
    .filter((r) => r.method === 'POST' && r.target.endsWith('/Messages.json'))
    .map((r) => new URLSearchParams(r.body)).filter((p) => (p.get('Body') || '').includes(TITLE));
  const offer = offers[0]?.get('Body') || '';
  check(offers.length === 1 && offers[0].get('To') === 'whatsapp:+972501234567' && offer.includes('2,450,000') && offer.includes('4 חדרים')
    && offer.includes('רמת גן') && offer.includes(PHOTO), 'the offer went out with title, price, rooms, city and the photo link', offer);
  await page.eval(() => document.querySelector('.call button.link').click());
  const chip = await page.waitFor((id) => document.querySelector(`.call-listings a.chip[href="#/listings/${id}"]`)?.textContent,
    'the offered listing on the call', 10000, listingId).catch((e) => e.message);
  check(chip === TITLE, 'a call shows the listings offered on it as links', chip);
  await shot('11-lead-matches');
  await page.eval(() => document.querySelector('.call-listings a.chip').click());
  const chipPage = await page.waitFor((t) => document.querySelector('form.listing-form') && document.querySelector('.page h1')?.textContent === t,
    'the listing from its chip', 10000, TITLE).catch(() => false);
  check(chipPage, 'the chip opens the listing');

  // Phone: the list is one column of cards, the form fits, nothing scrolls sideways.
  await page.eval(() => { for (const b of document.querySelectorAll('.toast-close')) b.click(); });
  await page.viewport(390, 844, true);
  const overflow = () => page.eval(() => document.documentElement.scrollWidth > innerWidth + 1);
  await page.nav('#/listings');
  await page.waitFor((id) => document.querySelector(`.listing-card[data-id="${id}"] img`)?.complete, 'the list on a phone', 10000, listingId);
  const phoneList = { overflow: await overflow(), cols: await page.eval(() => new Set([...document.querySelectorAll('.listing-card')].map((c) => Math.round(c.getBoundingClientRect().left))).size) };
  check(!phoneList.overflow && phoneList.cols === 1, 'phone: listing cards in one column, no sideways scroll', JSON.stringify(phoneList));
  await shot('12-listings-phone');
  await page.nav(`#/listings/${listingId}`);
  await page.waitFor(() => document.querySelector('form.listing-form'), 'the form on a phone');
  check(!(await overflow()), 'phone: the listing form has no sideways scroll');
  await shot('13-listing-form-phone');
  await page.viewport(1280, 860);

  // -- the overview: the owner's default page, with seeded numbers ------------
  // Three more calls today (missed, voicemail, transferred) and a payment paid
  // now; every number on the page must be the one GET /api/crm/stats gives.
  const db = withDb(DB_URL, dbName);
  psql(db,
    "INSERT INTO calls (business_id, call_sid, status) VALUES (1, 'CAov-missed', 'no-answer')",
    "INSERT INTO calls (business_id, call_sid, status, started_at, recording_url) VALUES (1, 'CAov-voicemail', 'fallback', now(), 'https://api.twilio.com/rec/REov')",
    'INSERT INTO calls (business_id, call_sid, status, started_at, ended_normally, end_reason, transfer, transfer_status)'
      + ` VALUES (1, 'CAov-transfer', 'completed', now(), true, 'transfer', '{"numbers":["+972501111111"]}', 'completed')`,
    "WITH p AS (INSERT INTO payments (business_id, provider, amount_minor, currency, status) VALUES (1, 'paypal', 123450, 'ILS', 'paid') RETURNING id)"
      + " INSERT INTO payment_events (business_id, payment_id, event_key, from_status, to_status) SELECT 1, id, 'ov-paid', 'pending', 'paid' FROM p");
  const stats = await api('/api/crm/stats');
  const dbCalls = Number(psql(db, 'SELECT count(*) FROM calls WHERE business_id = 1'));
  const todayRow = stats.calls.by_day[stats.calls.by_day.length - 1];
  check(stats.calls.total === dbCalls && todayRow.day === stats.to && todayRow.missed >= 1 && todayRow.voicemail >= 1
    && todayRow.transferred >= 1 && stats.payments.this_month.paid_minor >= 123450,
  'GET /api/crm/stats counts the seeded calls and payment', JSON.stringify({ dbCalls, calls: stats.calls.total, todayRow, pay: stats.payments }));
  // A fresh load of /app (the token is still in the tab) lands on the overview.
  await page.eval(() => { for (const b of document.querySelectorAll('.toast-close')) b.click(); });
  await page.goto(`${BASE}/app`);
  await page.waitFor(() => document.querySelector('.tile[data-tile=calls]') && document.querySelectorAll('.chart-box svg').length >= 4,
    'the overview with its charts', 10000);
  const ov = await page.eval(() => {
    const tileText = (k) => document.querySelector(`.tile[data-tile=${k}] .tile-value`)?.textContent;
    const svgs = [...document.querySelectorAll('main svg[role=img]')];
    const chart = document.querySelector('#ov-calls-title').parentElement.querySelector('svg');
    const rects = [...chart.querySelectorAll('rect[data-outcome]')];
    const sum = (list) => list.reduce((t, r) => t + Number(r.dataset.count), 0);
    const to = document.querySelector('#ov-calls-title').parentElement.querySelectorAll('g[data-day]');
    const newest = to[to.length - 1];
    const today = {};
    for (const r of newest.querySelectorAll('rect')) today[r.dataset.outcome] = Number(r.dataset.count);
    const box = chart.getBoundingClientRect();
    const newestBox = newest.getBoundingClientRect();
    return {
      current: document.querySelector('.nav-link[aria-current=page]')?.dataset.page,
      navFirst: document.querySelector('.nav-link')?.textContent,
      calls: tileText('calls'), leads: tileText('leads'), appts: tileText('appointments'), paid: tileText('payments'),
      titled: svgs.length >= 4 && svgs.every((s) => s.querySelector('title')?.textContent.length > 5 && s.getAttribute('aria-labelledby')),
      chartSum: sum(rects), today, newestDay: newest.dataset.day,
      newestAtLeft: newestBox.left - box.left < box.width * 0.15,
      hours: document.querySelectorAll('rect[data-hour]').length,
      hourSum: sum([...document.querySelectorAll('rect[data-hour]')]),
      funnel: [...document.querySelectorAll('#ov-funnel-title ~ .chart-box rect[data-key]')].map((r) => `${r.dataset.key}:${r.dataset.count}`).join(','),
      hiddenRows: document.querySelector('#ov-calls-title').parentElement.querySelectorAll('.visually-hidden table tbody tr').length,
      legend: [...document.querySelectorAll('.legend li')].map((l) => l.textContent.trim()).join(' | '),
    };
  });
  log('overview:', JSON.stringify(ov));
  check(ov.current === 'overview' && ov.navFirst === 'סקירה', 'an owner lands on "סקירה", first in the menu', `${ov.current} ${ov.navFirst}`);
  check(ov.calls === String(stats.calls.total) && ov.leads === String(stats.leads.total)
    && ov.appts === String(stats.appointments.this_week) && stats.appointments.this_week >= 1,
  'the tiles show the counts of calls, leads and this week\'s appointments', JSON.stringify(ov));
  check(/₪/.test(ov.paid) && ov.paid.includes('1,234.50'), 'the payments tile shows this month\'s paid ₪', ov.paid);
  check(ov.titled, 'every chart is an SVG image with a title');
  check(ov.chartSum === stats.calls.total && ov.newestDay === stats.to && ov.today.missed === todayRow.missed
    && ov.today.voicemail === todayRow.voicemail && ov.today.transferred === todayRow.transferred,
  'the calls chart stacks today\'s bar by outcome with the seeded numbers', JSON.stringify(ov.today));
  check(ov.newestAtLeft, 'the time axis runs right to left (today at the left)');
  check(ov.hours === 24 && ov.hourSum === stats.calls.total, 'busiest hours: 24 bars adding up to the calls');
  check(ov.funnel === stats.leads.funnel.map((f) => `${f.key}:${f.leads}`).join(','), 'the funnel has every pipeline stage with its leads', ov.funnel);
  check(ov.hiddenRows === stats.calls.by_day.length, 'a visually hidden table repeats the calls per day for screen readers');
  check(/טופלו/.test(ov.legend) && /הועברו/.test(ov.legend) && /הודעה קולית/.test(ov.legend) && /לא נענו/.test(ov.legend),
    'the legend names the four outcomes in Hebrew', ov.legend);
  await shot('15-overview');
  // On a 375 px phone: two tiles a row, charts as wide as the screen, no sideways scroll.
  await page.viewport(375, 812, true);
  await page.nav('#/overview');
  await page.waitFor(() => document.querySelectorAll('.chart-box svg').length >= 4, 'the overview on a phone', 10000);
  await sleep(200); // let the charts redraw at the new width
  const ovPhone = await page.eval(() => ({
    overflow: document.documentElement.scrollWidth > innerWidth + 1 || scrollX !== 0 || visualViewport.offsetLeft !== 0
      || [...document.querySelectorAll('main .tile, main .card')].some((e) => e.getBoundingClientRect().left < 0 || e.getBoundingClientRect().right > innerWidth + 1),
    widest: Math.max(...[...document.querySelectorAll('.chart-box svg')].map((s) => s.getBoundingClientRect().right)),
    left: Math.min(...[...document.querySelectorAll('.chart-box svg')].map((s) => s.getBoundingClientRect().left)),
    tileRows: new Set([...document.querySelectorAll('.tile')].map((t) => Math.round(t.getBoundingClientRect().top))).size,
    font: Math.min(...[...document.querySelectorAll('.chart-box svg text')].map((t) => t.getBoundingClientRect().height).filter((x) => x > 0)),
    width: innerWidth,
  }));
  check(!ovPhone.overflow && ovPhone.widest <= ovPhone.width && ovPhone.left >= 0 && ovPhone.tileRows === 2 && ovPhone.font >= 10,
    'phone: the overview fits 375 px, tiles two a row, chart text readable', JSON.stringify(ovPhone));
  await shot('16-overview-phone');
  // The whole page at phone width: a screen as tall as the page.
  const tall = await page.eval(() => Math.ceil(document.documentElement.scrollHeight));
  await page.viewport(375, Math.min(4000, tall), true);
  await sleep(200);
  await shot('17-overview-phone-full');
  await page.viewport(1280, 860);

  // -- sign-out, then a read-only token: no edit controls --------------------
  await page.eval(() => document.querySelector('.signout').click());
  await page.waitFor(() => document.querySelector('input[name=token]'), 'the sign-in form after sign-out');
  check(await page.eval(() => sessionStorage.getItem('al.token') === null), 'sign-out clears the token');
  await page.eval(() => history.replaceState(null, '', '/app')); // no page in the address
  await signIn(reader);
  await page.waitFor(() => document.querySelector('#sidebar'), 'the shell for read_only');
  const roHome = await page.waitFor(() => document.querySelector('.nav-link[aria-current=page]')?.dataset.page, 'the read_only home', 10000).catch((e) => e.message);
  check(roHome === 'live', 'read_only lands on live calls (the overview is the owners\' home)', roHome);
  await page.nav(`#/leads`);
  await page.waitFor((id) => document.querySelector(`.lead-card[data-id="${id}"]`), 'the board for read_only', 10000, lead.id);
  const roBoard = await page.eval(() => ({
    selects: document.querySelectorAll('.lead-card select').length,
    draggable: document.querySelectorAll('.lead-card[draggable=true]').length,
    add: !!document.querySelector('form[aria-label="ליד חדש"]'),
    import: !!document.querySelector('#leads-import'),
  }));
  check(roBoard.selects === 0 && roBoard.draggable === 0 && !roBoard.add && !roBoard.import, 'read_only: the board has no edit controls', JSON.stringify(roBoard));
  await page.nav(`#/leads/${lead.id}`);
  await page.waitFor(() => document.querySelector('#payments-title') && document.querySelector('.match'), 'the lead page for read_only');
  const roLead = await page.eval(() => ({
    offers: document.querySelectorAll('.send-offer').length,
    reply: !!document.querySelector('form.reply'),
    pay: !!document.querySelector('form[aria-label="שליחת קישור לתשלום"]'),
    save: [...document.querySelectorAll('button[type=submit]')].length,
    status: document.querySelector('#lead-status').disabled,
  }));
  check(!roLead.reply && !roLead.pay && roLead.save === 0 && roLead.status && roLead.offers === 0, 'read_only: the lead page has no edit controls', JSON.stringify(roLead));
  await shot('08-read-only');
  await page.nav('#/listings');
  await page.waitFor(() => document.querySelector('.listing-card'), 'the listings for read_only', 10000);
  const roList = await page.eval(() => ({
    add: !!document.querySelector('#new-listing'),
    status: document.querySelectorAll('.listing-card select').length,
    import: !!document.querySelector('#listings-import'),
    export: !!document.querySelector('.export-csv'),
  }));
  check(!roList.add && roList.status === 0 && !roList.import && roList.export, 'read_only: listings have no edit controls (export stays)', JSON.stringify(roList));
  const firstListing = await page.eval(() => document.querySelector('.listing-card').dataset.id);
  await page.nav(`#/listings/${firstListing}`);
  await page.waitFor(() => document.querySelector('dl.details'), 'a listing for read_only');
  const roOne = await page.eval(() => ({
    form: !!document.querySelector('form.listing-form'),
    controls: document.querySelectorAll('main input, main select, main textarea, main button').length,
  }));
  check(!roOne.form && roOne.controls === 0, 'read_only: a listing shows its details, no form or delete', JSON.stringify(roOne));
  await shot('14-read-only-listing');
  await page.nav('#/settings');
  await page.waitFor(() => document.querySelector('form.settings'), 'the settings for read_only');
  const roSettings = await page.eval(() => ({
    webhooks: !!document.querySelector('form.webhooks'),
    record: document.querySelector('#set-record')?.closest('section').querySelector('input[type=checkbox]').disabled,
  }));
  check(!roSettings.webhooks && roSettings.record === true, 'read_only: no webhook card, the recording switch is read-only', JSON.stringify(roSettings));

  // -- a sign-in link (what deploy/start.sh prints): the code signs in once ----
  await page.eval(() => document.querySelector('.signout').click());
  await page.waitFor(() => document.querySelector('input[name=token]'), 'the sign-in form before the link');
  const signInUrl = execFileSync(args.agentlocator, ['sign-in-link', '--business', '1', '--role', 'owner'], {
    env: { ...process.env, DATABASE_URL: withDb(DB_URL, dbName), PUBLIC_BASE_URL: BASE, SCHEMAS_DIR: args.schemas },
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
  check(signInUrl.startsWith(`${BASE}/app/#signin=`), 'the command line prints a sign-in link', signInUrl);
  await page.goto('about:blank');
  await page.goto(signInUrl);
  const linkHome = await page.waitFor(() => document.querySelector('.nav-link[aria-current=page]')?.dataset.page, 'the dashboard from the link', 10000).catch((e) => e.message);
  check(linkHome === 'overview', 'the link signs the owner in, no token typed (the overview)', linkHome);
  check(await page.eval(() => !location.href.includes('signin=')), 'the code leaves the address bar at once');
  check(await page.eval(() => (sessionStorage.getItem('al.token') || '').startsWith('al_')), 'the session is kept in the tab');
  await shot('18-signed-in-by-link');
  // The same link again (another tab, a forwarded message): used, and said so.
  await page.eval(() => sessionStorage.clear());
  await page.goto('about:blank');
  await page.goto(signInUrl);
  const used = await page.waitFor(() => document.querySelector('#signin-error')?.textContent, 'the used link\'s message', 10000).catch((e) => e.message);
  check(/כבר נוצל/.test(used), 'a used link shows the sign-in form with the reason', used);

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
    console.log(`# --- ${p.label} output (tail)${p.exitCode !== null || p.signalCode ? `, exited: ${p.signalCode || p.exitCode}` : ''} ---`);
    console.log(p.output.split('\n').slice(-30).join('\n'));
  }
}
await cleanup();
console.log(`screenshots: ${args.out}`);
console.log(`${passed} passed, ${failed} failed`);
code = failed ? 1 : 0;
process.exit(code);
