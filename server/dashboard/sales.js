// FieldCRM dashboard: the sales panels (pipeline, funnel with win rate, forecast, big deals).
// Loaded after charts.js; started by app.js's `fieldcrm:signed-in` event, cleared by
// `fieldcrm:signed-out`. Every figure comes from /v1/pipeline/..., which keeps to the
// caller's sight.
'use strict';

(() => {
  const { el, isNum, fmtMoney, fmtPercent, fmtDays, stageLabel, request, barsChart, funnelChart, monthsChart } =
    window.FieldcrmKit;
  const $ = (id) => document.getElementById(id);
  const state = { seq: 0, currency: null };

  const pad2 = (n) => String(n).padStart(2, '0');

  // The periods offered: this and last quarter, this and last month, this year (UTC, as the
  // server counts them).
  function periodChoices(now) {
    const y = now.getUTCFullYear();
    const m = now.getUTCMonth();
    const q = Math.floor(m / 3) + 1;
    const lastQ = q === 1 ? `${y - 1}-Q4` : `${y}-Q${q - 1}`;
    const lastM = m === 0 ? `${y - 1}-12` : `${y}-${pad2(m)}`;
    return [
      [`${y}-Q${q}`, 'This quarter'],
      [lastQ, 'Last quarter'],
      [`${y}-${pad2(m + 1)}`, 'This month'],
      [lastM, 'Last month'],
      [String(y), 'This year'],
    ];
  }

  function status(id, text) {
    $(id).textContent = text || '';
  }

  function cell(text, attrs) {
    return el('td', attrs, text);
  }

  async function load() {
    const seq = ++state.seq;
    const period = $('sales-period').value;
    const calls = [
      ['pipeline-status', request('/v1/pipeline'), renderPipeline],
      ['funnel-status', request(`/v1/pipeline/funnel?period=${encodeURIComponent(period)}`), renderFunnel],
      ['funnel-status', request(`/v1/pipeline/win-rate?period=${encodeURIComponent(period)}`), renderWinRate],
      ['forecast-status', request('/v1/pipeline/forecast?months=6'), renderForecast],
      ['big-deals-status', request('/v1/pipeline/big-deals?limit=20'), renderBigDeals],
    ];
    await Promise.all(calls.map(async ([statusId, call, render]) => {
      try {
        const answer = await call;
        if (seq !== state.seq) return;
        render(answer);
        status(statusId, '');
      } catch (err) {
        if (seq !== state.seq) return;
        status(statusId, `Could not load: ${err.message}`);
      }
    }));
  }

  // ---------------------------------------------------------------- pipeline

  function renderPipeline(report) {
    const currencies = (report.totals || []).map((t) => t.currency);
    const select = $('sales-currency');
    const wanted = state.currency && currencies.includes(state.currency) ? state.currency : currencies[0] || null;
    state.currency = wanted;
    select.replaceChildren(...currencies.map((c) => el('option', { value: c, text: c })));
    select.disabled = currencies.length === 0;
    if (wanted) select.value = wanted;
    state.pipeline = report;
    drawPipeline();
  }

  function drawPipeline() {
    const report = state.pipeline;
    if (!report) return;
    const currency = state.currency;
    const stages = (report.stages || []).filter((s) => s.currency === currency);
    barsChart($('pipeline-chart'), stages.map((s) => ({
      key: s.stage,
      cls: `stage-${s.stage}`,
      label: stageLabel(s.stage),
      value: s.amount_minor,
      part: s.weighted_minor,
      valueText: fmtMoney(s.amount_minor, currency),
      tooltip: `${stageLabel(s.stage)}: ${s.count} deals, ${fmtMoney(s.amount_minor, currency)}, weighted ${fmtMoney(s.weighted_minor, currency)}`,
    })), { title: `Open pipeline per stage (${currency || 'no deals'})` });
    $('pipeline-table').tBodies[0].replaceChildren(...stages.map((s) => el('tr', { 'data-stage': s.stage },
      el('th', { scope: 'row', text: stageLabel(s.stage) }),
      cell(String(s.count), { class: 'num' }),
      cell(fmtMoney(s.amount_minor, currency), { class: 'num' }),
      cell(fmtMoney(s.weighted_minor, currency), { class: 'num' }))));
    const reps = (report.reps || []).map((r) => ({ r, t: (r.totals || []).find((t) => t.currency === currency) }))
      .filter((x) => x.t);
    $('pipeline-reps').tBodies[0].replaceChildren(...reps.map(({ r, t }) => el('tr', { 'data-rep-id': r.rep_id },
      el('th', { scope: 'row', text: r.username || r.rep_id.slice(0, 8) }),
      cell(String(t.count), { class: 'num' }),
      cell(fmtMoney(t.amount_minor, currency), { class: 'num' }),
      cell(fmtMoney(t.weighted_minor, currency), { class: 'num' }))));
    $('pipeline-empty').hidden = stages.length > 0;
    if (state.forecast) drawForecast();
  }

  // ---------------------------------------------------------------- funnel and win rate

  function renderFunnel(report) {
    const stages = report.stages || [];
    funnelChart($('funnel-chart'), stages, { title: `Funnel of the ${report.deals} deals created in ${report.period}` });
    $('funnel-deals').textContent = `${report.deals} deals created in ${report.period}${report.sampled ? ' (medians sampled)' : ''}`;
    $('funnel-table').tBodies[0].replaceChildren(...stages.map((s) => el('tr', { 'data-stage': s.stage },
      el('th', { scope: 'row', text: stageLabel(s.stage) }),
      cell(String(s.reached), { class: 'num' }),
      cell(fmtPercent(s.conversion_to_next), { class: 'num' }),
      cell(fmtDays(s.median_ms_in_stage), { class: 'num' }))));
  }

  function renderWinRate(report) {
    $('win-rate').textContent = isNum(report.win_rate)
      ? `Win rate ${fmtPercent(report.win_rate)} (${report.won} won, ${report.lost} lost)`
      : 'No deal closed in this period';
    $('win-rate-reps').tBodies[0].replaceChildren(...(report.reps || []).map((r) => el('tr', { 'data-rep-id': r.rep_id },
      el('th', { scope: 'row', text: r.username || r.rep_id.slice(0, 8) }),
      cell(String(r.won), { class: 'num' }),
      cell(String(r.lost), { class: 'num' }),
      cell(fmtPercent(r.win_rate), { class: 'num' }))));
  }

  // ---------------------------------------------------------------- forecast

  function renderForecast(report) {
    state.forecast = report;
    drawForecast();
  }

  function drawForecast() {
    const currency = state.currency;
    const rows = (state.forecast.rows || []).filter((r) => r.currency === currency);
    monthsChart($('forecast-chart'), rows, { title: `Forecast per month (${currency || 'no deals'})`, currency });
    $('forecast-empty').hidden = rows.length > 0;
  }

  // ---------------------------------------------------------------- big deals

  function renderBigDeals(report) {
    $('big-deals-threshold').textContent = `from ${fmtMoney(report.min_amount_minor, report.currency || state.currency || 'EUR')}`;
    const rows = (report.deals || []).map((d) => el('tr', { 'data-opportunity-id': d.opportunity_id },
      el('th', { scope: 'row', text: d.title }),
      cell(d.customer_name || '–'),
      cell(d.username || d.rep_id.slice(0, 8)),
      cell(stageLabel(d.stage)),
      cell(fmtMoney(d.amount_minor, d.currency), { class: 'num' }),
      cell(`${d.weight_percent}%`, { class: 'num' }),
      cell(isNum(d.expected_close_at) ? new Date(d.expected_close_at).toISOString().slice(0, 10) : '–')));
    $('big-deals').tBodies[0].replaceChildren(...rows);
    $('big-deals-empty').hidden = rows.length > 0;
    $('big-deals-count').textContent = rows.length ? String(rows.length) : '';
  }

  // ---------------------------------------------------------------- wiring

  function clear() {
    state.seq += 1;
    state.pipeline = null;
    state.forecast = null;
    $('sales-view').hidden = true;
    for (const id of ['pipeline-table', 'pipeline-reps', 'funnel-table', 'win-rate-reps', 'big-deals']) {
      $(id).tBodies[0].replaceChildren();
    }
    for (const id of ['pipeline-chart', 'funnel-chart', 'forecast-chart']) $(id).replaceChildren();
  }

  function start() {
    const select = $('sales-period');
    if (!select.options.length) {
      select.replaceChildren(...periodChoices(new Date()).map(([value, label]) =>
        el('option', { value, text: `${label} (${value})` })));
    }
    $('sales-view').hidden = false;
    load();
  }

  function init() {
    $('sales-period').addEventListener('change', load);
    $('sales-currency').addEventListener('change', () => {
      state.currency = $('sales-currency').value;
      drawPipeline();
    });
    document.addEventListener('fieldcrm:signed-in', start);
    document.addEventListener('fieldcrm:signed-out', clear);
  }

  init();
})();
