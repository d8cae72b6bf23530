// The business's settings: greeting (with a "listen" preview in the
// embedded voice), prompt, call recording, after-hours reply, working
// hours, WhatsApp provider and payments; for owners also the outgoing
// webhook (with a test event and its last deliveries) and invitations.
// Owners edit; other roles see the settings read-only.
// Secrets are write-only: the API says only whether one is set, and an
// empty secret field leaves it unchanged.
import { h, mount, field, select, timeInput, onSubmit } from './dom.js';
import * as fmt from './fmt.js';
import { get, post, patch, del, upload, audioUrl, ApiError } from './api.js';

const DAYS = [['sun', 'ראשון'], ['mon', 'שני'], ['tue', 'שלישי'], ['wed', 'רביעי'],
  ['thu', 'חמישי'], ['fri', 'שישי'], ['sat', 'שבת']];

export async function render(view, ctx) {
  const b = await get('/api/crm/business');
  ctx.business = b;
  const ro = !ctx.canManage;
  const greeting = h('textarea', { rows: '3', maxlength: '2000', disabled: ro, dir: 'auto', value: b.greeting || '' });
  const prompt = h('textarea', { rows: '4', maxlength: '20000', disabled: ro, dir: 'auto', value: b.prompt || '' });
  const afterHours = h('textarea', { rows: '2', maxlength: '2000', disabled: ro, dir: 'auto', value: b.after_hours_reply || '' });
  const hours = DAYS.map(([key, label]) => {
    const span = (b.working_hours || {})[key];
    const open = h('input', { type: 'checkbox', checked: Array.isArray(span), disabled: ro });
    const from = timeInput({ value: span ? span[0] : '09:00', disabled: ro, 'aria-label': `${label}: משעה` });
    const to = timeInput({ value: span ? span[1] : '18:00', disabled: ro, 'aria-label': `${label}: עד שעה` });
    return { key, open, from, to, row: h('tr', h('th', { scope: 'row' }, h('label', open, ' ', label)), h('td', from), h('td', to)) };
  });
  const waProvider = select([['twilio', 'Twilio'], ['meta', 'WhatsApp Cloud API (Meta)']], b.whatsapp?.provider || 'twilio', { disabled: ro });
  const pay = b.payments || {};
  const payEnabled = h('input', { type: 'checkbox', checked: !!pay.enabled, disabled: ro });
  const payProvider = select([['paypal', 'PayPal'], ['tranzila', 'Tranzila']], pay.default_provider || 'paypal', { disabled: ro });
  const paypalId = h('input', { autocomplete: 'off', dir: 'ltr', disabled: ro, placeholder: pay.paypal_configured ? 'מוגדר — השאירו ריק כדי לא לשנות' : '' });
  const paypalSecret = h('input', { type: 'password', autocomplete: 'new-password', dir: 'ltr', disabled: ro, placeholder: pay.paypal_configured ? 'מוגדר — השאירו ריק כדי לא לשנות' : '' });
  const terminal = h('input', { autocomplete: 'off', dir: 'ltr', disabled: ro, value: pay.tranzila_terminal || '' });

  // On by default: with it, callers hear a short recording notice after
  // the greeting and the whole call is kept for the lead's page.
  const recordCalls = h('input', { type: 'checkbox', checked: b.record_calls !== false, disabled: ro, 'aria-describedby': 'record-calls-hint' });
  const whatsappAi = h('input', { type: 'checkbox', checked: b.whatsapp_ai !== false, disabled: ro, 'aria-describedby': 'whatsapp-ai-hint' });
  const autoCall = h('input', { type: 'checkbox', checked: b.auto_call_new_leads === true, disabled: ro, 'aria-describedby': 'auto-call-hint' });

  const voice = h('input', { autocomplete: 'off', dir: 'ltr', disabled: ro, maxlength: '40', value: b.voice || '', placeholder: 'alloy, coral, verse…' });
  const transfer = b.transfer || {};
  const transferNumbers = h('input', { dir: 'ltr', disabled: ro, inputmode: 'tel', value: (transfer.numbers || []).join(', '), placeholder: '050-1234567, 052-7654321' });
  const ringTimeout = h('input', { type: 'number', min: '5', max: '120', dir: 'ltr', disabled: ro, value: String(transfer.ring_timeout_s || 20) });

  // The office's own recording, played first to every caller.
  const audioFile = h('input', { type: 'file', accept: 'audio/*', disabled: ro, 'aria-label': 'קובץ הקלטת פתיחה' });
  const audioState = h('p.meta', b.greeting_audio ? 'מושמעת הקלטה שהועלתה.' : 'לא הועלתה הקלטה: הברכה מוקראת.');
  const audioRemove = h('button', { type: 'button', hidden: !b.greeting_audio || ro }, 'הסרת ההקלטה');
  audioFile.addEventListener('change', async () => {
    const file = audioFile.files && audioFile.files[0];
    if (!file) return;
    if (file.size > 5 * 1024 * 1024) {
      ctx.toast('הקובץ גדול מ-5MB. יש להעלות הקלטה קצרה יותר.', 'error');
      audioFile.value = '';
      return;
    }
    audioFile.disabled = true;
    audioState.textContent = 'מעלה…';
    try {
      const r = await upload('/api/crm/settings/greeting-audio', file);
      audioState.textContent = `מושמעת הקלטה שהועלתה (${Number(r.seconds).toFixed(1)} שניות).`;
      audioRemove.hidden = false;
      ctx.toast('הקלטת הפתיחה נשמרה.');
    } catch (err) {
      audioState.textContent = b.greeting_audio ? 'מושמעת הקלטה שהועלתה.' : 'לא הועלתה הקלטה: הברכה מוקראת.';
      ctx.fail('העלאת ההקלטה נכשלה', err);
    } finally {
      audioFile.disabled = false;
      audioFile.value = '';
    }
  });
  audioRemove.addEventListener('click', async () => {
    audioRemove.disabled = true;
    try {
      await del('/api/crm/settings/greeting-audio');
      audioState.textContent = 'לא הועלתה הקלטה: הברכה מוקראת.';
      audioRemove.hidden = true;
      ctx.toast('ההקלטה הוסרה.');
    } catch (err) {
      ctx.fail('הסרת ההקלטה נכשלה', err);
    } finally {
      audioRemove.disabled = false;
    }
  });

  const listen = h('div.player');
  const listenBtn = h('button', { type: 'button' }, '▶ האזנה לברכה');
  listen.append(listenBtn);
  let listenUrl = null;
  listenBtn.addEventListener('click', async () => {
    listenBtn.disabled = true;
    try {
      if (listenUrl) URL.revokeObjectURL(listenUrl);
      listenUrl = await audioUrl(`/api/crm/voice/preview?text=${encodeURIComponent(greeting.value.trim())}`);
      const audio = h('audio', { controls: true, src: listenUrl, 'aria-label': 'הברכה בקול המובנה' });
      mount(listen, listenBtn, audio);
      audio.play().catch(() => {});
    } catch (err) {
      ctx.fail('השמעת הברכה נכשלה', err);
    } finally {
      listenBtn.disabled = false;
    }
  });

  const form = h('form.settings',
    h('section.card', { 'aria-labelledby': 'set-voice' },
      h('h2#set-voice', 'מענה קולי'),
      h('p.meta', 'מספרי טלפון: ',
        (b.phone_numbers || []).length ? b.phone_numbers.map((n, i) => [i ? ', ' : '', h('bdi', { dir: 'ltr' }, fmt.phone(n))]) : '—',
        ` · מנוע: ${{ openai: 'OpenAI', local: 'קול מובנה', auto: 'אוטומטי (AI כשמוגדר מפתח)' }[b.voice_engine] || b.voice_engine}`),
      field('ברכת פתיחה', greeting, 'מה שהמתקשר שומע מיד עם המענה.'), listen,
      field('הקלטת פתיחה משלכם (WAV, MP3, OGG, FLAC; עד 5MB ודקה)', audioFile,
        'אם הועלתה, היא מושמעת במקום הברכה המוקראת.'), audioState, audioRemove,
      field('קול ה-AI', voice, 'שם קול של OpenAI; ריק = ברירת המחדל של המערכת. הברכה מוקלטת מחדש בקול הזה.'),
      field('הנחיות לנציג הקולי', prompt)),
    h('section.card', { 'aria-labelledby': 'set-record' },
      h('h2#set-record', 'הקלטה ומענה אוטומטי'),
      h('label.check', recordCalls, ' הקלטת השיחה כולה (שני הצדדים)'),
      h('p#record-calls-hint.hint', 'המתקשרים שומעים מיד אחרי הברכה הודעה קצרה שהשיחה מוקלטת; ההקלטה והתמליל מופיעים בדף הליד.'),
      h('label.check', whatsappAi, ' הבינה המלאכותית עונה להודעות וואטסאפ'),
      h('p#whatsapp-ai-hint.hint', 'תשובה אחת לכל רצף הודעות; נציג שעונה או לוקח את השיחה משהה אותה ל-12 שעות.'),
      h('label.check', autoCall, ' חזרה אוטומטית ללידים חדשים (תוך דקה, בשעות הפעילות)'),
      h('p#auto-call-hint.hint', 'ליד חדש מטופס באתר או מוואטסאפ מקבל שיחה מהסוכנת; מי שביקש לא לקבל פניות לא יחויג.')),
    h('section.card', { 'aria-labelledby': 'set-transfer' },
      h('h2#set-transfer', 'העברה לנציג'),
      field('מספרים להעברה (עד 5, מופרדים בפסיק)', transferNumbers,
        'בשעות הפעילות, מתקשר שמקיש 0 או מבקש לדבר עם אדם מועבר למספרים האלה (כולם מצלצלים יחד). מחוץ לשעות הוא שומע מתי המשרד נפתח.'),
      field('זמן צלצול (שניות)', ringTimeout, 'אם איש לא עונה, המתקשר משאיר הודעה.')),
    h('section.card', { 'aria-labelledby': 'set-hours' },
      h('h2#set-hours', 'שעות פעילות (שעון ישראל)'),
      h('table.data.hours', h('thead', h('tr', h('th', { scope: 'col' }, 'יום (מסומן = פתוח)'),
        h('th', { scope: 'col' }, 'משעה'), h('th', { scope: 'col' }, 'עד שעה'))),
      h('tbody', hours.map((x) => x.row))),
      h('p.hint', 'יום שאינו מסומן — סגור. אם אף יום אינו מסומן, אין הגבלת שעות והעסק נחשב פתוח תמיד.'),
      field('מענה אוטומטי מחוץ לשעות הפעילות', afterHours)),
    h('section.card', { 'aria-labelledby': 'set-wa' },
      h('h2#set-wa', 'וואטסאפ'),
      h('p.meta', 'שולח: ', b.whatsapp?.from ? h('bdi', { dir: 'ltr' }, b.whatsapp.from) : 'ברירת המחדל של המערכת'),
      field('ספק וואטסאפ', waProvider)),
    h('section.card', { 'aria-labelledby': 'set-pay' },
      h('h2#set-pay', 'תשלומים'),
      h('label.check', payEnabled, ' קבלת תשלומים פעילה'),
      field('ספק ברירת מחדל', payProvider),
      field('PayPal client id', paypalId, pay.paypal_configured ? 'פרטי PayPal מוגדרים.' : 'פרטי PayPal אינם מוגדרים.'),
      field('PayPal secret', paypalSecret, 'הסוד לעולם אינו מוצג. מלאו רק כדי להחליף.'),
      field('מסוף Tranzila', terminal)),
    ro ? h('p.hint', 'רק בעלי העסק יכולים לשנות הגדרות.') : h('button.primary', { type: 'submit' }, 'שמירת ההגדרות'));

  onSubmit(form, async (e) => {
    e.preventDefault();
    const wh = {};
    for (const x of hours) {
      if (!x.open.checked) continue;
      const from = fmt.parseTime(x.from.value);
      const to = fmt.parseTime(x.to.value);
      if (!from || !to) {
        ctx.toast('שעה לא תקינה בשעות הפעילות: יש להזין HH:MM (24 שעות).', 'error');
        (!from ? x.from : x.to).focus();
        return;
      }
      wh[x.key] = [from, to];
    }
    const payments = { enabled: payEnabled.checked, default_provider: payProvider.value };
    if (terminal.value.trim() !== (pay.tranzila_terminal || '')) payments.tranzila_terminal = terminal.value.trim();
    if (paypalId.value.trim()) payments.paypal_client_id = paypalId.value.trim();
    if (paypalSecret.value) payments.paypal_secret = paypalSecret.value;
    const body = {
      greeting: greeting.value.trim(),
      prompt: prompt.value.trim(),
      after_hours_reply: afterHours.value.trim(),
      working_hours: wh,
      whatsapp: { provider: waProvider.value },
      payments,
      voice: voice.value.trim(),
      record_calls: recordCalls.checked,
      whatsapp_ai: whatsappAi.checked,
      auto_call_new_leads: autoCall.checked,
      transfer: {
        numbers: transferNumbers.value.split(/[,;\n]+/).map((x) => x.trim()).filter(Boolean),
        ring_timeout_s: Number(ringTimeout.value) || 20,
      },
    };
    try {
      await patch('/api/crm/settings', body);
      paypalSecret.value = '';
      ctx.toast('ההגדרות נשמרו.');
      render(view, ctx); // show what the server now holds
    } catch (err) {
      ctx.fail('שמירת ההגדרות נכשלה', err);
    }
  });
  mount(view, h('header.page-head', h('h1', 'הגדרות העסק'), h('p.meta', b.name || '')), form,
    ro ? null : webhooks(ctx, b), ro ? null : invitations(ctx));
  return () => { if (listenUrl) URL.revokeObjectURL(listenUrl); };
}

/// Owners invite people: a one-time sign-in link for a role, to send by
/// WhatsApp or e-mail. The link works once, for an hour (the server says
/// until when); whoever opens it gets a dashboard session of that role.
function invitations(ctx) {
  const role = select([['agent', 'סוכן'], ['read_only', 'צפייה בלבד'], ['owner', 'בעלים']], 'agent');
  const out = h('div.invite-result', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, 'יצירת קישור כניסה');
  const form = h('form.card.invite', { 'aria-labelledby': 'set-invite' },
    h('h2#set-invite', 'הזמנת משתמשים'),
    h('p.hint', 'קישור כניסה חד-פעמי: מי שפותח אותו נכנס ללוח הבקרה בתפקיד שנבחר. שלחו אותו רק לאדם שהוא מיועד לו.'),
    field('תפקיד', role), button, out);
  onSubmit(form, async (e) => {
    e.preventDefault();
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const link = await post('/api/crm/sign-in-links', { role: role.value });
      const url = h('input', { readonly: true, dir: 'ltr', value: link.url, 'aria-label': 'קישור הכניסה' });
      const copy = h('button', { type: 'button' }, 'העתקה');
      copy.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(link.url);
          ctx.toast('הקישור הועתק.');
        } catch {
          url.select();
        }
      });
      out.replaceChildren(url, copy,
        h('p.hint', `תקף לשימוש אחד עד ${new Date(link.expires_at).toLocaleString('he-IL', { timeZone: 'Asia/Jerusalem' })}.`));
      url.select();
    } catch (err) {
      ctx.fail('יצירת הקישור נכשלה', err);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  });
  return form;
}

const DELIVERY_STATUS = { pending: 'ממתין', delivered: 'נמסר', failed: 'נכשל' };
const EVENT_NAME = {
  'call.completed': 'שיחה הסתיימה', 'lead.created': 'ליד חדש', 'message.received': 'הודעה התקבלה',
  'payment.paid': 'תשלום התקבל', test: 'אירוע בדיקה',
};
const DELIVERIES_PER_PAGE = 10;

/// The outgoing webhook (owners and the administrator only: the API
/// refuses agents): the URL, a write-only secret (empty keeps the one set),
/// a test event, and the last deliveries with a retry for a failed one.
function webhooks(ctx, b) {
  const secretSet = !!b.webhook_secret_set;
  const url = h('input', {
    type: 'url', dir: 'ltr', autocomplete: 'off', spellcheck: 'false', maxlength: '2048',
    value: b.webhook_url || '', placeholder: 'https://crm.example.co.il/hooks/agentlocator',
  });
  const secret = h('input', {
    type: 'password', dir: 'ltr', autocomplete: 'new-password', maxlength: '256',
    placeholder: secretSet ? 'מוגדר — השאירו ריק כדי לא לשנות' : 'לא הוגדר',
  });
  const save = h('button.primary', { type: 'submit' }, 'שמירת ה-Webhook');
  const test = h('button#webhook-test', { type: 'button' }, 'שליחת אירוע בדיקה');
  const testOut = h('p#webhook-test-result.webhook-test-result', { role: 'status' });
  const table = h('div.deliveries');
  const form = h('form.card.webhooks', { 'aria-labelledby': 'set-webhook' },
    h('h2#set-webhook', 'Webhook לאחר כל שיחה'),
    h('p.hint', 'אחרי כל שיחה, ליד חדש, הודעה נכנסת ותשלום נשלחת בקשת POST עם JSON לכתובת הזו. החתימה בכותרת X-AgentLocator-Signature היא HMAC-SHA256 של גוף הבקשה עם הסוד.'),
    field('כתובת (URL)', url, 'https בלבד (http רק לכתובת מקומית). ריק = בלי webhook.'),
    field('סוד לחתימה', secret, secretSet ? 'מוגדר סוד. הוא לעולם אינו מוצג; מלאו רק כדי להחליף.' : 'הסוד לעולם אינו מוצג אחרי השמירה.'),
    h('div.actions', save, test), testOut,
    h('h3#webhook-deliveries-title', 'משלוחים אחרונים'), table);

  onSubmit(form, async () => {
    const body = { webhook_url: url.value.trim() || null };
    if (secret.value) body.webhook_secret = secret.value;
    try {
      const saved = await patch('/api/crm/settings', body);
      secret.value = '';
      const nowSet = saved && 'webhook_secret_set' in saved ? !!saved.webhook_secret_set : secretSet || !!body.webhook_secret;
      secret.placeholder = nowSet ? 'מוגדר — השאירו ריק כדי לא לשנות' : 'לא הוגדר';
      if (saved && 'webhook_url' in saved) url.value = saved.webhook_url || '';
      ctx.toast(body.webhook_url ? 'כתובת ה-Webhook נשמרה.' : 'ה-Webhook כובה.');
    } catch (err) {
      ctx.fail('שמירת ה-Webhook נכשלה', err);
    }
  });

  test.addEventListener('click', async () => {
    if (test.disabled) return;
    test.disabled = true;
    test.setAttribute('aria-busy', 'true');
    testOut.className = 'webhook-test-result';
    testOut.textContent = '';
    try {
      const r = await post('/api/crm/webhooks/test');
      testOut.replaceChildren('אירוע בדיקה נשלח לתור: ', h('bdi', { dir: 'ltr' }, r?.id || ''));
      testOut.classList.add('ok');
      await loadDeliveries(1);
    } catch (err) {
      testOut.textContent = err instanceof ApiError && err.status === 422
        ? `אירוע הבדיקה לא נשלח: ${err.detail === 'No webhook_url set' ? 'לא הוגדרה כתובת. שמרו כתובת קודם.' : err.detail || err.message}`
        : (err instanceof ApiError ? err.explain('אירוע הבדיקה לא נשלח') : `אירוע הבדיקה לא נשלח: ${err.message}`);
      testOut.classList.add('form-error');
    } finally {
      test.disabled = false;
      test.removeAttribute('aria-busy');
    }
  });

  let page = 1;
  async function loadDeliveries(p = page) {
    let res;
    try {
      res = await get(`/api/crm/webhooks/deliveries?page=${p}&per_page=${DELIVERIES_PER_PAGE}`);
    } catch (err) {
      mount(table, h('p.form-error', err instanceof ApiError ? err.explain('טעינת המשלוחים נכשלה') : `טעינת המשלוחים נכשלה: ${err.message}`));
      return;
    }
    page = p;
    const items = res.items || [];
    if (!items.length) {
      mount(table, h('p.empty', 'עוד לא נשלחו אירועים.'));
      return;
    }
    const rows = items.map((d) => {
      let retry = '';
      if (d.status === 'failed') {
        retry = h('button.retry', { type: 'button', 'aria-label': `שליחה חוזרת של ${EVENT_NAME[d.event] || d.event} מ־${fmt.dateTime(d.created_at)}` }, 'שליחה חוזרת');
        retry.addEventListener('click', async () => {
          retry.disabled = true;
          retry.setAttribute('aria-busy', 'true');
          try {
            await post(`/api/crm/webhooks/deliveries/${encodeURIComponent(d.id)}/retry`);
            ctx.toast('המשלוח הוחזר לתור.');
            await loadDeliveries();
          } catch (err) {
            ctx.fail('השליחה החוזרת נכשלה', err);
            if (retry.isConnected) {
              retry.disabled = false;
              retry.removeAttribute('aria-busy');
            }
          }
        });
      }
      const last = [d.last_status ? h('bdi', { dir: 'ltr' }, `HTTP ${d.last_status}`) : null,
        d.last_error ? h('div.delivery-error', { dir: 'auto' }, d.last_error) : null].filter(Boolean);
      const when = d.status === 'delivered' && d.delivered_at ? `נמסר ${fmt.dateTime(d.delivered_at)}`
        : d.status === 'pending' && d.next_attempt_at ? `ניסיון הבא ${fmt.dateTime(d.next_attempt_at)}` : '';
      return h('tr', { dataset: { id: d.id, status: d.status } },
        h('td', h('span', EVENT_NAME[d.event] || d.event), h('br'), h('bdi.meta', { dir: 'ltr' }, d.event)),
        h('td.nowrap', fmt.dateTime(d.created_at), when ? [h('br'), h('span.meta', when)] : null),
        h('td', h(`span.pill.dl-${d.status}`, DELIVERY_STATUS[d.status] || d.status)),
        h('td.num', String(d.attempts ?? 0)),
        h('td.delivery-last', last.length ? last : '—'),
        h('td', retry));
    });
    const pages = Math.max(1, Math.ceil((res.total || 0) / (res.per_page || DELIVERIES_PER_PAGE)));
    const prev = h('button', { type: 'button', disabled: page <= 1 }, 'חדשים יותר');
    const next = h('button', { type: 'button', disabled: page >= pages }, 'ישנים יותר');
    prev.addEventListener('click', () => loadDeliveries(page - 1));
    next.addEventListener('click', () => loadDeliveries(page + 1));
    mount(table,
      h('div.table-wrap', h('table.data.deliveries-table', { 'aria-labelledby': 'webhook-deliveries-title' },
        h('thead', h('tr', ...['אירוע', 'זמן', 'מצב', 'ניסיונות', 'תשובה אחרונה', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', rows))),
      pages > 1 ? h('div.pager', prev, h('span', `עמוד ${page} מתוך ${pages}`), next) : null);
  }
  mount(table, h('p.loading', 'טוען…'));
  loadDeliveries(1);
  return form;
}
