// CSV import and export, shared by listings and leads. Import sends the file
// as it is (text/csv; the server reads UTF-8 with or without a BOM and an
// English or Hebrew header row) and shows what was created, updated and
// refused, line by line. Export downloads the current selection.
import { h, mount, field, onSubmit } from './dom.js';
import { upload, download, ApiError } from './api.js';

const MAX_BYTES = 10 * 1024 * 1024;

/// A button that downloads `path()` as `filename`.
export function exportButton(ctx, { label = 'ייצוא ל־CSV', path, filename }) {
  const button = h('button.export-csv', { type: 'button' }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    button.textContent = 'מייצא…';
    try {
      await download(path(), filename);
      ctx.toast(`הקובץ ${filename} הורד.`);
    } catch (err) {
      ctx.fail('הייצוא נכשל', err);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      button.textContent = label;
    }
  });
  return button;
}

/// "Import from CSV" (writers only): a file, an optional dry run, and the
/// result. `hint` lists the columns; `done()` runs after a real import.
export function importForm(ctx, { title, path, hint, done, id }) {
  const file = h('input', { type: 'file', name: 'csv', accept: '.csv,text/csv', required: true });
  const dry = h('input', { type: 'checkbox', name: 'dry_run' });
  const button = h('button.primary', { type: 'submit' }, 'ייבוא');
  const progress = h('progress.busy', { hidden: true, 'aria-label': 'הקובץ נשלח' });
  const result = h('div.import-result', { 'aria-live': 'polite' });
  const form = h('form.stack.csv-import', { 'aria-label': title },
    field('קובץ CSV', file, hint),
    h('label.check', dry, ' בדיקה בלבד (בלי לשמור)'),
    h('div.actions', button, progress),
    result);
  onSubmit(form, async (e) => {
    e.preventDefault();
    const f = file.files && file.files[0];
    if (!f) {
      mount(result, h('p.form-error', { role: 'alert' }, 'יש לבחור קובץ CSV.'));
      file.focus();
      return;
    }
    if (f.size > MAX_BYTES) {
      mount(result, h('p.form-error', { role: 'alert' }, 'הקובץ גדול מ־10MB. יש לפצל אותו לכמה קבצים.'));
      return;
    }
    const dryRun = dry.checked;
    button.disabled = true;
    file.disabled = true;
    button.textContent = dryRun ? 'בודק…' : 'מייבא…';
    form.setAttribute('aria-busy', 'true');
    progress.hidden = false;
    mount(result, h('p.meta', { role: 'status' }, `שולח את ${f.name}…`));
    try {
      const r = await upload(`${path}${dryRun ? '?dry_run=1' : ''}`, f, { method: 'POST', type: 'text/csv' });
      showResult(result, r, dryRun);
      const errors = (r.errors || []).length;
      ctx.toast(dryRun
        ? `הבדיקה הסתיימה: ${errors ? `${errors} שורות עם שגיאות` : 'אין שגיאות'}.`
        : `הייבוא הסתיים: ${r.created || 0} נוצרו, ${r.updated || 0} עודכנו${errors ? `, ${errors} שורות לא יובאו` : ''}.`);
      if (!dryRun) {
        file.value = '';
        if (done) await done(r);
      }
    } catch (err) {
      // Shown beside the form (not as a toast over it): nothing was imported.
      const text = err instanceof ApiError ? err.explain('הקובץ לא יובא') : `הקובץ לא יובא: ${err.message}`;
      mount(result, h('p.form-error', { role: 'alert' }, text),
        err.body && Array.isArray(err.body.errors) && err.body.errors.length ? errorTable(err.body.errors) : null);
    } finally {
      button.disabled = false;
      file.disabled = false;
      button.textContent = 'ייבוא';
      form.removeAttribute('aria-busy');
      progress.hidden = true;
    }
  });
  return h(`details${id ? `#${id}` : ''}.card.csv-tools`,
    h('summary', h('h2', title)), form);
}

function showResult(el, r, dryRun) {
  const errors = r.errors || [];
  const n = (x) => Number(x || 0).toLocaleString('he-IL');
  mount(el,
    h('p.import-summary', { role: 'status' }, dryRun
      ? `בדיקה בלבד, לא נשמר דבר: ${n(r.created)} ייווצרו, ${n(r.updated)} יעודכנו, ${n(errors.length)} שורות עם שגיאות.`
      : `נוצרו ${n(r.created)}, עודכנו ${n(r.updated)}${errors.length ? `, ${n(errors.length)} שורות לא יובאו` : ''}.`),
    (r.ignored_columns || []).length
      ? h('p.meta', 'עמודות שלא זוהו ולא יובאו: ', r.ignored_columns.map((c, i) => [i ? ', ' : '', h('bdi', c)]))
      : null,
    errors.length ? errorTable(errors) : null);
}

function errorTable(errors) {
  return h('div.table-wrap', h('table.data.import-errors',
    h('caption', 'שורות שלא יובאו'),
    h('thead', h('tr', h('th', { scope: 'col' }, 'שורה'), h('th', { scope: 'col' }, 'שגיאה'))),
    h('tbody', errors.map((e) => h('tr', h('td.num', String(e.line ?? '')), h('td', { dir: 'auto' }, e.error || ''))))));
}
