// FieldCRM dashboard: the orders and revenue panel (revenue per rep, per customer and per
// product for a period, drawn as SVG bars, and the order lines naming a product the server
// does not know, flagged). Loaded after charts.js; started by app.js's `fieldcrm:signed-in`
// event, cleared by `fieldcrm:signed-out`. Every figure comes from /v1/revenue, which keeps to
// the caller's sight; revenue is the net amount of submitted, confirmed and delivered orders.
'use strict';

(() => {
  const { el, fmtMoney, request, barsChart } = window.FieldcrmKit;
  const $ = (id) => document.getElementById(id);
  // Bars drawn per chart (the API lists the largest first).
  const BARS = 10;
  const GROUPINGS = ['rep', 'customer', 'product'];
  const state = { seq: 0, currency: null, reports: {} };

  const pad2 = (n) => String(n).padStart(2, '0');

  // This and last quarter, this and last month, this year (UTC, as the server counts them).
  function periodChoices(now) {
    const y = now.getUTCFullYear();
    const m = now.getUTCMonth();
    const q = Math.floor(m / 3) + 1;
    return [
      [`${y}-Q${q}`, 'This quarter'],
      [q === 1 ? `${y - 1}-Q4` : `${y}-Q${q - 1}`, 'Last quarter'],
      [`${y}-${pad2(m + 1)}`, 'This month'],
      [m === 0 ? `${y - 1}-12` : `${y}-${pad2(m)}`, 'Last month'],
      [String(y), 'This year'],
    ];
  }

  const short = (text) => (text.length > 16 ? `${text.slice(0, 15)}…` : text);

  function groupLabel(by, g) {
    if (by === 'product') return g.known ? (g.sku || g.name || g.id.slice(0, 8)) : `? ${g.sku || g.id.slice(0, 8)}`;
    return g.name || g.id.slice(0, 8);
  }

  async function load() {
    const seq = ++state.seq;
    const period = encodeURIComponent($('revenue-period').value);
    try {
      const [rep, customer, product, unknown] = await Promise.all([
        ...GROUPINGS.map((by) => request(`/v1/revenue?period=${period}&by=${by}&limit=100`)),
        request(`/v1/revenue/unknown-products?period=${period}&limit=50`),
      ]);
      if (seq !== state.seq) return;
      state.reports = { rep, customer, product };
      renderCurrencies([rep, customer, product]);
      draw();
      renderUnknown(unknown);
      $('revenue-status').textContent = '';
    } catch (err) {
      if (seq !== state.seq) return;
      $('revenue-status').textContent = `Could not load: ${err.message}`;
    }
  }

  // The currencies with revenue (each report's totals are the same orders' ones).
  function renderCurrencies(reports) {
    const currencies = [...new Set(reports.flatMap((r) => (r.totals || []).map((t) => t.currency)))];
    const select = $('revenue-currency');
    const wanted = state.currency && currencies.includes(state.currency) ? state.currency : currencies[0] || null;
    state.currency = wanted;
    select.replaceChildren(...currencies.map((c) => el('option', { value: c, text: c })));
    select.disabled = currencies.length === 0;
    if (wanted) select.value = wanted;
  }

  function draw() {
    const currency = state.currency;
    const total = ((state.reports.rep && state.reports.rep.totals) || []).find((t) => t.currency === currency);
    $('revenue-total').textContent = total
      ? `${fmtMoney(total.net_minor, currency)} net from ${total.orders} orders (${fmtMoney(total.gross_minor, currency)} with tax)`
      : 'No revenue in this period';
    for (const by of GROUPINGS) {
      const report = state.reports[by];
      const groups = ((report && report.groups) || []).filter((g) => g.currency === currency).slice(0, BARS);
      barsChart($(`revenue-${by}-chart`), groups.map((g) => ({
        key: g.id,
        cls: by === 'product' && g.known === false ? 'bar-unknown' : '',
        label: short(groupLabel(by, g)),
        value: g.net_minor,
        valueText: fmtMoney(g.net_minor, currency),
        tooltip: `${groupLabel(by, g)}${by === 'product' && g.known === false ? ' (unknown product)' : ''}: `
          + `${fmtMoney(g.net_minor, currency)} net, ${fmtMoney(g.gross_minor, currency)} with tax`
          + (by === 'product' ? `, ${g.quantity} units on ${g.lines} lines` : `, ${g.orders} orders`),
      })), { title: `Revenue per ${by} (${currency || 'no orders'})` });
      $(`revenue-${by}-empty`).hidden = groups.length > 0;
    }
  }

  function renderUnknown(report) {
    const lines = report.lines || [];
    $('revenue-unknown-count').textContent = report.count ? String(report.count) : '';
    $('revenue-unknown').replaceChildren(...lines.map((l) => el('li', {
      class: 'flag flag-unknown_product',
      'data-order-id': l.order_id,
      'data-line-id': l.line_id,
    },
    el('span', { class: 'flag-kind', text: 'Unknown product' }),
    el('span', { class: 'flag-detail', text: `${l.sku || l.product_id} ${l.name} × ${l.quantity}, ${fmtMoney(l.net_minor, l.currency)}, ordered ${new Date(l.ordered_at).toISOString().slice(0, 10)}` }))));
    $('revenue-unknown-empty').hidden = report.count > 0;
    $('revenue-unknown-more').textContent = report.count > lines.length
      ? `${report.count - lines.length} more not listed` : '';
  }

  function clear() {
    state.seq += 1;
    state.reports = {};
    for (const by of GROUPINGS) $(`revenue-${by}-chart`).replaceChildren();
    $('revenue-unknown').replaceChildren();
    $('revenue-total').textContent = '';
  }

  function start() {
    const select = $('revenue-period');
    if (!select.options.length) {
      select.replaceChildren(...periodChoices(new Date()).map(([value, label]) =>
        el('option', { value, text: `${label} (${value})` })));
    }
    load();
  }

  function init() {
    $('revenue-period').addEventListener('change', load);
    $('revenue-currency').addEventListener('change', () => {
      state.currency = $('revenue-currency').value;
      draw();
    });
    document.addEventListener('fieldcrm:signed-in', start);
    document.addEventListener('fieldcrm:signed-out', clear);
  }

  init();
})();
