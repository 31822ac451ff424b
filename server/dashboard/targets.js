// FieldCRM dashboard: targets with attainment, the ranking, and (for managers and admins) the
// form that sets a target. Loaded after charts.js; started by app.js's `fieldcrm:signed-in`
// event, cleared by `fieldcrm:signed-out`.
'use strict';

(() => {
  const { el, svg, isNum, fmtMoney, request } = window.FieldcrmKit;
  const $ = (id) => document.getElementById(id);
  const METRICS = [
    ['visits', 'Visits'],
    ['verified_visits', 'Verified visits'],
    ['revenue', 'Revenue'],
    ['new_customers', 'New customers'],
    ['deals_won', 'Deals won'],
  ];
  const metricLabel = (m) => (METRICS.find(([key]) => key === m) || [m, m])[1];
  const state = { seq: 0, rankingSeq: 0, me: null, reps: [] };
  const pad2 = (n) => String(n).padStart(2, '0');

  function periodChoices(now) {
    const y = now.getUTCFullYear();
    const m = now.getUTCMonth();
    const q = Math.floor(m / 3) + 1;
    return [
      [`${y}-${pad2(m + 1)}`, 'This month'],
      [m === 0 ? `${y - 1}-12` : `${y}-${pad2(m)}`, 'Last month'],
      [`${y}-Q${q}`, 'This quarter'],
      [q === 1 ? `${y - 1}-Q4` : `${y}-Q${q - 1}`, 'Last quarter'],
    ];
  }

  function amount(a, value) {
    return a.metric === 'revenue' ? fmtMoney(value, a.currency) : String(value);
  }

  // A bar from 0 to 100 % (longer attainment is capped at the end, the figure says it).
  function attainmentBar(percent) {
    const width = 80;
    const filled = isNum(percent) ? Math.min(1, Math.max(0, percent / 100)) * width : 0;
    const cls = !isNum(percent) ? 'none' : percent >= 100 ? 'met' : percent >= 50 ? 'half' : 'low';
    return svg('svg', { class: 'attainment-bar', viewBox: `0 0 ${width} 8`, width, height: 8, 'aria-hidden': 'true' },
      svg('rect', { x: 0, y: 0, width, height: 8, rx: 4, class: 'attainment-track' }),
      filled > 0 ? svg('rect', { x: 0, y: 0, width: filled.toFixed(1), height: 8, rx: 4, class: `attainment-fill attainment-${cls}` }) : null);
  }

  function attainmentCell(a) {
    if (!a) return el('td', { class: 'attainment muted', text: '–' });
    const figure = isNum(a.actual) ? `${amount(a, a.actual)} / ${amount(a, a.target)}` : `– / ${amount(a, a.target)}`;
    const note = isNum(a.percent) ? `${a.percent}%` : isNum(a.actual) ? '' : 'no actual yet';
    return el('td', { class: 'attainment', 'data-metric': a.metric, title: `${metricLabel(a.metric)}${a.currency ? ` (${a.currency})` : ''}` },
      el('span', { class: 'attainment-figure', text: figure }),
      attainmentBar(a.percent),
      el('span', { class: 'attainment-percent', text: note }));
  }

  async function load() {
    const seq = ++state.seq;
    const period = $('targets-period').value;
    try {
      const answer = await request(`/v1/targets?period=${encodeURIComponent(period)}`);
      if (seq !== state.seq) return;
      renderTargets(answer.reps || []);
      $('targets-status').textContent = '';
    } catch (err) {
      if (seq !== state.seq) return;
      $('targets-status').textContent = `Could not load: ${err.message}`;
    }
    loadRanking();
  }

  function renderTargets(reps) {
    const rows = reps.map((r) => {
      const byMetric = (metric) => r.targets.filter((t) => t.metric === metric);
      return el('tr', { 'data-rep-id': r.rep_id },
        el('th', { scope: 'row', text: r.username }),
        METRICS.map(([metric]) => {
          const found = byMetric(metric);
          if (found.length <= 1) return attainmentCell(found[0]);
          // Revenue in several currencies: one line each.
          return el('td', { class: 'attainment-multi' }, found.map((a) => el('div', {}, [...attainmentCell(a).childNodes])));
        }));
    });
    $('targets-table').tBodies[0].replaceChildren(...rows);
    $('targets-empty').hidden = reps.some((r) => r.targets.length > 0);
  }

  async function loadRanking() {
    const seq = ++state.rankingSeq;
    const period = $('targets-period').value;
    const metric = $('ranking-metric').value;
    // Revenue is ranked in one currency: the one the target form names (EUR by default).
    const currency = metric === 'revenue' ? ($('target-currency').value.trim().toUpperCase() || 'EUR') : null;
    const figure = (value) => amount({ metric, currency }, value);
    try {
      const answer = await request(`/v1/targets/ranking?period=${encodeURIComponent(period)}&metric=${metric}`
        + (currency ? `&currency=${encodeURIComponent(currency)}` : ''));
      if (seq !== state.rankingSeq) return;
      const items = (answer.reps || []).map((r) => el('li', { class: 'ranking-row', 'data-rep-id': r.rep_id },
        el('span', { class: 'ranking-rank', text: isNum(r.rank) ? `#${r.rank}` : '–' }),
        el('span', { class: 'ranking-name', text: r.username }),
        attainmentBar(r.percent),
        el('span', { class: 'ranking-figure', text: isNum(r.target) ? `${isNum(r.actual) ? figure(r.actual) : '–'} / ${figure(r.target)}${isNum(r.percent) ? ` (${r.percent}%)` : ''}` : 'no target' })));
      $('ranking').replaceChildren(...items);
    } catch (err) {
      if (seq !== state.rankingSeq) return;
      $('ranking').replaceChildren();
      $('targets-status').textContent = `Could not load the ranking: ${err.message}`;
    }
  }

  async function onSave(event) {
    event.preventDefault();
    const metric = $('target-metric').value;
    const value = Number($('target-value').value);
    const body = {
      rep_id: $('target-rep').value,
      period: $('targets-period').value,
      metric,
      value: metric === 'revenue' ? Math.round(value * 100) : value,
    };
    if (metric === 'revenue') body.currency = $('target-currency').value.trim().toUpperCase();
    const button = $('target-save');
    button.disabled = true;
    try {
      await request('/v1/targets', { method: 'PUT', body });
      $('target-note').textContent = `Saved: ${metricLabel(metric)} for ${$('target-rep').selectedOptions[0].textContent}.`;
      await load();
    } catch (err) {
      $('target-note').textContent = `Not saved: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  }

  function clear() {
    state.seq += 1;
    state.rankingSeq += 1;
    state.me = null;
    $('targets-table').tBodies[0].replaceChildren();
    $('ranking').replaceChildren();
    $('target-rep').replaceChildren();
    $('target-note').textContent = '';
    $('targets-status').textContent = '';
  }

  function start(event) {
    const detail = event.detail || {};
    state.me = detail.me || null;
    state.reps = detail.reps || [];
    const select = $('targets-period');
    if (!select.options.length) {
      select.replaceChildren(...periodChoices(new Date()).map(([value, label]) =>
        el('option', { value, text: `${label} (${value})` })));
    }
    const mayEdit = state.me && state.me.role !== 'rep';
    $('target-form').hidden = !mayEdit;
    $('target-rep').replaceChildren(...state.reps.map((r) => el('option', { value: r.id, text: r.username })));
    load();
  }

  function init() {
    $('ranking-metric').replaceChildren(...METRICS.map(([value, label]) => el('option', { value, text: label })));
    $('target-metric').replaceChildren(...METRICS.map(([value, label]) => el('option', { value, text: label })));
    $('target-metric').addEventListener('change', () => {
      $('target-currency-field').hidden = $('target-metric').value !== 'revenue';
    });
    $('targets-period').addEventListener('change', load);
    $('ranking-metric').addEventListener('change', loadRanking);
    $('target-form').addEventListener('submit', onSave);
    document.addEventListener('fieldcrm:signed-in', start);
    document.addEventListener('fieldcrm:signed-out', clear);
  }

  init();
})();
