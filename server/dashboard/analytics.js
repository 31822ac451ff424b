// FieldCRM dashboard: the customer analytics panels, drawn as SVG from the current analytics
// run over the caller's customers: the RFM heat map (customers by R and F score), the ABC
// Pareto curve, the lifetime-value distribution and top customers, the churn-risk list with
// owners, and the top cross-sell rules. Loaded after charts.js; started by app.js's
// `fieldcrm:signed-in` event, cleared by `fieldcrm:signed-out`. Every figure comes from
// /v1/analytics, /v1/analytics/panels and /v1/analytics/rules.
'use strict';

(() => {
  const { el, svg, fmtMoney, fmtPercent, request } = window.FieldcrmKit;
  const $ = (id) => document.getElementById(id);
  const RULES_LISTED = 10;
  const state = { seq: 0 };

  const fmtDate = (ms) => new Date(ms).toISOString().slice(0, 10);

  // 5 × 5 cells, R score down (5 at the top: the most recent), F score across; the cell's
  // shade grows with its count.
  function rfmGrid(node, grid) {
    const cell = 64;
    const left = 44;
    const top = 10;
    const size = left + 5 * cell + 10;
    const max = Math.max(1, ...grid.flat());
    node.setAttribute('viewBox', `0 0 ${size} ${top + 5 * cell + 40}`);
    node.replaceChildren(svg('title', { text: 'Customers by recency (R) and frequency (F) score' }));
    for (let r = 5; r >= 1; r -= 1) {
      const y = top + (5 - r) * cell;
      node.append(svg('text', { x: left - 8, y: y + cell / 2 + 4, 'text-anchor': 'end', class: 'axis-label', text: `R${r}` }));
      for (let f = 1; f <= 5; f += 1) {
        const count = grid[r - 1][f - 1];
        const x = left + (f - 1) * cell;
        const shade = count === 0 ? 0 : 0.12 + 0.88 * (count / max);
        node.append(svg('g', { class: 'rfm-cell', 'data-r': r, 'data-f': f, 'data-count': count },
          svg('rect', { x: x + 2, y: y + 2, width: cell - 4, height: cell - 4, rx: 4, class: 'rfm-rect', 'fill-opacity': shade.toFixed(3) },
            svg('title', { text: `R ${r}, F ${f}: ${count} customers` })),
          svg('text', { x: x + cell / 2, y: y + cell / 2 + 5, 'text-anchor': 'middle', class: shade > 0.55 ? 'rfm-count rfm-count-dark' : 'rfm-count', text: String(count) })));
      }
    }
    for (let f = 1; f <= 5; f += 1) {
      node.append(svg('text', { x: left + (f - 1) * cell + cell / 2, y: top + 5 * cell + 18, 'text-anchor': 'middle', class: 'axis-label', text: `F${f}` }));
    }
  }

  // The share of revenue (up) brought by the largest customers (across), with the 80 % line.
  function paretoChart(node, points) {
    const width = 420;
    const height = 260;
    const left = 40;
    const bottom = 28;
    const top = 10;
    const plotW = width - left - 10;
    const plotH = height - top - bottom;
    const x = (share) => left + share * plotW;
    const y = (share) => top + plotH - share * plotH;
    node.setAttribute('viewBox', `0 0 ${width} ${height}`);
    node.replaceChildren(svg('title', { text: 'Share of revenue from the largest customers' }));
    for (const tick of [0, 0.5, 0.8, 1]) {
      node.append(svg('line', { x1: left, x2: width - 10, y1: y(tick), y2: y(tick), class: tick === 0.8 ? 'axis-line pareto-80' : 'axis-line' }),
        svg('text', { x: left - 6, y: y(tick) + 4, 'text-anchor': 'end', class: 'axis-label', text: fmtPercent(tick) }));
    }
    for (const tick of [0.2, 0.5, 1]) {
      node.append(svg('text', { x: x(tick), y: height - 8, 'text-anchor': 'middle', class: 'axis-label', text: fmtPercent(tick) }));
    }
    if (points.length < 2) return;
    const d = points.map(([cx, cy], i) => `${i === 0 ? 'M' : 'L'}${x(cx).toFixed(1)},${y(cy).toFixed(1)}`).join(' ');
    node.append(svg('path', { d, class: 'pareto-line', 'data-points': points.length },
      svg('title', { text: 'Cumulative share of revenue' })));
    // Where the top 20 % of customers stand.
    const at20 = points.find(([cx]) => cx >= 0.2);
    if (at20) {
      node.append(svg('circle', { cx: x(at20[0]), cy: y(at20[1]), r: 4, class: 'pareto-mark' },
        svg('title', { text: `The top ${fmtPercent(at20[0])} of customers bring ${fmtPercent(at20[1])} of revenue` })));
    }
  }

  // One bar per lifetime-value bin.
  function clvChart(node, clv, currency) {
    const width = 420;
    const height = 220;
    const left = 36;
    const bottom = 34;
    const top = 10;
    const plotH = height - top - bottom;
    const counts = clv.counts || [];
    const max = Math.max(1, ...counts);
    const slot = (width - left - 8) / Math.max(1, counts.length);
    node.setAttribute('viewBox', `0 0 ${width} ${height}`);
    node.replaceChildren(svg('title', { text: '12-month lifetime value: customers per band' }));
    node.append(svg('line', { x1: left, x2: width - 4, y1: top + plotH, y2: top + plotH, class: 'axis-line' }),
      svg('text', { x: left - 6, y: top + 8, 'text-anchor': 'end', class: 'axis-label', text: String(max) }));
    counts.forEach((count, i) => {
      const h = (count / max) * plotH;
      const low = clv.edges[i];
      const high = clv.edges[i + 1];
      const last = i === counts.length - 1;
      const label = last ? `${fmtMoney(low, currency)} and more` : `${fmtMoney(low, currency)} – ${fmtMoney(high, currency)}`;
      node.append(svg('rect', { x: (left + i * slot + 1).toFixed(1), y: (top + plotH - h).toFixed(1), width: Math.max(1, slot - 2).toFixed(1), height: h.toFixed(1), class: 'clv-bin', 'data-count': count },
        svg('title', { text: `${label}: ${count} customers` })));
    });
    if (counts.length) {
      node.append(svg('text', { x: left, y: height - 10, class: 'axis-label', text: fmtMoney(0, currency) }),
        svg('text', { x: width - 8, y: height - 10, 'text-anchor': 'end', class: 'axis-label', text: `${fmtMoney(clv.edges[counts.length - 1], currency)}+` }));
    }
  }

  function row(cells, attrs) {
    return el('tr', attrs || {}, ...cells.map((c) => el('td', { text: c })));
  }

  function render(overview, panels, rules) {
    const run = overview.run;
    $('analytics-empty').hidden = Boolean(run);
    $('analytics-body').hidden = !run;
    if (!run) return;
    const currency = run.currency;
    $('analytics-run').textContent = `Run ${run.run_id} as of ${fmtDate(run.as_of)}, ${overview.customers} customers, in ${currency}`;
    rfmGrid($('rfm-grid'), overview.rfm_grid);
    $('rfm-segments').replaceChildren(...overview.segments
      .filter((s) => s.customers > 0)
      .map((s) => el('li', { 'data-segment': s.name, text: `${s.name.replace(/_/g, ' ')}: ${s.customers}` })));
    paretoChart($('pareto-chart'), panels.pareto);
    $('abc-classes').replaceChildren(...overview.abc.map((c) =>
      el('li', { 'data-class': c.class, text: `${c.class}: ${c.customers} customers, ${fmtMoney(c.revenue_minor, currency)}` })));
    clvChart($('clv-chart'), panels.clv, currency);
    $('clv-unknown').textContent = panels.clv.unknown ? `${panels.clv.unknown} customers without a lifetime value (no purchases yet)` : '';
    $('top-clv').querySelector('tbody').replaceChildren(...panels.top_clv.map((c) =>
      row([c.name || c.customer_id.slice(0, 8), c.abc_class, fmtMoney(c.clv_12m_minor, currency)], { 'data-id': c.customer_id })));
    $('churn-list').querySelector('tbody').replaceChildren(...panels.churn.map((c) =>
      row([c.name || c.customer_id.slice(0, 8), c.owner || '–', c.churn_level, fmtPercent(c.churn_score), fmtMoney(c.clv_12m_minor, currency)],
        { 'data-id': c.customer_id, class: `churn-${c.churn_level}` })));
    $('churn-empty').hidden = panels.churn.length > 0;
    $('rules-table').querySelector('tbody').replaceChildren(...rules.rules.slice(0, RULES_LISTED).map((r) =>
      row([`${r.antecedent.join(' + ')} → ${r.consequent}`, fmtPercent(r.confidence), r.lift.toFixed(2), fmtPercent(r.support)])));
    $('rules-empty').hidden = rules.rules.length > 0;
  }

  async function load() {
    const seq = ++state.seq;
    try {
      const [overview, panels, rules] = await Promise.all([
        request('/v1/analytics'),
        request('/v1/analytics/panels'),
        request(`/v1/analytics/rules?limit=${RULES_LISTED}`),
      ]);
      if (seq !== state.seq) return;
      render(overview, panels, rules);
      $('analytics-status').textContent = '';
    } catch (err) {
      if (seq !== state.seq) return;
      $('analytics-status').textContent = `Could not load: ${err.message}`;
    }
  }

  function clear() {
    state.seq += 1;
    for (const id of ['rfm-grid', 'pareto-chart', 'clv-chart', 'rfm-segments', 'abc-classes']) $(id).replaceChildren();
    for (const id of ['top-clv', 'churn-list', 'rules-table']) $(id).querySelector('tbody').replaceChildren();
    $('analytics-run').textContent = '';
  }

  document.addEventListener('fieldcrm:signed-in', load);
  document.addEventListener('fieldcrm:signed-out', clear);
})();
