// FieldCRM dashboard: the kit the sales panels share (sales.js, targets.js). DOM building with
// textContent only, the API call with the session's token, money and percent formatting, and
// the SVG charts, drawn from the data (nothing is loaded from anywhere but this server).
'use strict';

window.FieldcrmKit = (() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const TOKEN_KEY = 'fieldcrm.dashboard.token';

  function setAttrs(node, attrs) {
    if (!attrs) return;
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else node.setAttribute(key, String(value));
    }
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

  // Amounts travel in minor units (cents) with their currency.
  function fmtMoney(minor, currency) {
    if (!isNum(minor)) return '–';
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'EUR', maximumFractionDigits: 0 })
        .format(minor / 100);
    } catch (_) {
      return `${Math.round(minor / 100)} ${currency || ''}`.trim();
    }
  }

  // Compact axis labels: 12k, 3.4M.
  function fmtShort(minor) {
    const v = minor / 100;
    const abs = Math.abs(v);
    if (abs >= 1e6) return `${(v / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
    if (abs >= 1e3) return `${(v / 1e3).toFixed(abs >= 1e4 ? 0 : 1)}k`;
    return String(Math.round(v));
  }

  function fmtPercent(share) {
    return isNum(share) ? `${Math.round(share * 100)}%` : '–';
  }

  function fmtDays(ms) {
    if (!isNum(ms)) return '–';
    const days = ms / 86400000;
    if (days < 1) return `${Math.max(1, Math.round(ms / 3600000))} h`;
    return `${days < 10 ? days.toFixed(1) : Math.round(days)} d`;
  }

  const STAGE_LABELS = {
    lead: 'Lead',
    qualified: 'Qualified',
    proposal: 'Proposal',
    negotiation: 'Negotiation',
    won: 'Won',
    lost: 'Lost',
  };
  const stageLabel = (stage) => STAGE_LABELS[stage] || String(stage);

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // The dashboard's session token (app.js keeps it in sessionStorage).
  async function request(path, options = {}) {
    const headers = new Headers();
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.set('Authorization', `Bearer ${token}`);
    if (options.body !== undefined) headers.set('Content-Type', 'application/json');
    let response;
    try {
      response = await fetch(path, {
        method: options.method || 'GET',
        headers,
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        cache: 'no-store',
      });
    } catch (err) {
      throw new ApiError(0, 'network', `Cannot reach the server (${err.message})`);
    }
    if (!response.ok) {
      let code = `http_${response.status}`;
      let message = `HTTP ${response.status}`;
      try {
        const body = await response.json();
        if (body && body.error) {
          code = body.error.code || code;
          message = body.error.message || message;
        }
      } catch (_) {
        // Not JSON: keep the status.
      }
      throw new ApiError(response.status, code, message);
    }
    return response.json();
  }

  // A horizontal bar per item: the full amount, the weighted part drawn over it.
  function barsChart(node, items, options) {
    const width = 560;
    const rowH = 30;
    const labelW = 110;
    const valueW = 110;
    const height = Math.max(1, items.length) * rowH + 8;
    const max = Math.max(1, ...items.map((i) => i.value));
    const span = width - labelW - valueW;
    node.setAttribute('viewBox', `0 0 ${width} ${height}`);
    node.replaceChildren(svg('title', { text: options.title }));
    items.forEach((item, index) => {
      const y = 4 + index * rowH;
      const full = Math.max(1, (item.value / max) * span);
      const part = isNum(item.part) ? Math.max(0, (item.part / max) * span) : 0;
      node.append(svg('g', { class: `bar-row ${item.cls || ''}`, 'data-key': item.key },
        svg('text', { x: labelW - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end', class: 'bar-label', text: item.label }),
        svg('rect', { x: labelW, y: y + 4, width: full.toFixed(1), height: rowH - 10, rx: 3, class: 'bar-full' },
          svg('title', { text: item.tooltip || item.label })),
        part > 0 ? svg('rect', { x: labelW, y: y + 4, width: part.toFixed(1), height: rowH - 10, rx: 3, class: 'bar-part' }) : null,
        svg('text', { x: labelW + span + 8, y: y + rowH / 2 + 4, class: 'bar-value', text: item.valueText })));
    });
  }

  // The funnel: one centred band per stage, its width the deals that reached it, with the
  // conversion to the next stage between bands.
  function funnelChart(node, stages, options) {
    const width = 560;
    const bandH = 34;
    const gap = 18;
    const height = stages.length * (bandH + gap);
    const max = Math.max(1, ...stages.map((s) => s.reached));
    const span = 300;
    const cx = 200;
    node.setAttribute('viewBox', `0 0 ${width} ${height}`);
    node.replaceChildren(svg('title', { text: options.title }));
    stages.forEach((stage, index) => {
      const y = index * (bandH + gap);
      const w = Math.max(6, (stage.reached / max) * span);
      node.append(svg('g', { class: 'funnel-stage', 'data-stage': stage.stage },
        svg('rect', { x: (cx - w / 2).toFixed(1), y, width: w.toFixed(1), height: bandH, rx: 4, class: `funnel-band stage-${stage.stage}` },
          svg('title', { text: `${stageLabel(stage.stage)}: ${stage.reached} deals, median ${fmtDays(stage.median_ms_in_stage)} in stage` })),
        svg('text', { x: cx, y: y + bandH / 2 + 5, 'text-anchor': 'middle', class: 'funnel-count', text: String(stage.reached) }),
        svg('text', { x: cx + span / 2 + 16, y: y + 14, class: 'funnel-label', text: stageLabel(stage.stage) }),
        svg('text', { x: cx + span / 2 + 16, y: y + 30, class: 'funnel-sub', text: `median ${fmtDays(stage.median_ms_in_stage)}` }),
        isNum(stage.conversion_to_next)
          ? svg('text', { x: cx, y: y + bandH + gap - 4, 'text-anchor': 'middle', class: 'funnel-conversion', text: `↓ ${fmtPercent(stage.conversion_to_next)}` })
          : null));
    });
  }

  // Vertical bars per month: the weighted open amount and the amount won side by side.
  function monthsChart(node, months, options) {
    const width = 560;
    const height = 220;
    const left = 48;
    const bottom = 28;
    const top = 10;
    const plotH = height - bottom - top;
    const max = Math.max(1, ...months.flatMap((m) => [m.weighted_minor, m.won_minor]));
    const slot = (width - left - 8) / Math.max(1, months.length);
    const barW = Math.min(22, slot / 3);
    node.setAttribute('viewBox', `0 0 ${width} ${height}`);
    node.replaceChildren(svg('title', { text: options.title }));
    for (const tick of [0, 0.5, 1]) {
      const y = top + plotH - tick * plotH;
      node.append(svg('line', { x1: left, x2: width - 4, y1: y, y2: y, class: 'axis-line' }),
        svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis-label', text: fmtShort(max * tick) }));
    }
    months.forEach((m, index) => {
      const x = left + index * slot + slot / 2;
      const bar = (value, dx, cls, label) => {
        const h = (value / max) * plotH;
        return svg('rect', { x: (x + dx).toFixed(1), y: (top + plotH - h).toFixed(1), width: barW.toFixed(1), height: Math.max(0, h).toFixed(1), class: cls },
          svg('title', { text: `${m.month}: ${label} ${fmtMoney(value, options.currency)}` }));
      };
      node.append(svg('g', { class: 'month', 'data-month': m.month },
        bar(m.weighted_minor, -barW - 1, 'bar-weighted', 'weighted open'),
        bar(m.won_minor, 1, 'bar-won', 'won'),
        svg('text', { x, y: height - 8, 'text-anchor': 'middle', class: 'axis-label', text: m.month })));
    });
  }

  return {
    el, svg, isNum, fmtMoney, fmtPercent, fmtDays, stageLabel, request, barsChart, funnelChart, monthsChart,
  };
})();
