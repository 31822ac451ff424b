// FieldCRM dashboard: campaigns. A manager sets one up (a segment filter, a period, a cost,
// an action for each target's owner, an optional control group), previews how many customers
// it aims at, starts it (the target list is frozen and the tasks or visits go to the reps),
// and follows its results: reached, converted, revenue against the control group, return on
// spend. Loaded after charts.js; started by app.js's `fieldcrm:signed-in` event. Everything
// goes through /v1/campaigns, which a rep does not have (the panel then stays hidden).
'use strict';

(() => {
  const { el, fmtMoney, fmtPercent, request } = window.FieldcrmKit;
  const $ = (id) => document.getElementById(id);
  const SEGMENTS = ['champion', 'loyal', 'potential_loyalist', 'new', 'promising', 'needs_attention',
    'about_to_sleep', 'at_risk', 'cant_lose', 'hibernating', 'lost', 'no_purchases'];
  const state = { seq: 0 };

  const checked = (name) => [...document.querySelectorAll(`#campaign-form input[name="${name}"]:checked`)].map((i) => i.value);
  const dayAfter = (days) => new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);
  const fmtDay = (ms) => new Date(ms).toISOString().slice(0, 10);

  function filter() {
    const f = {};
    const segments = [...$('campaign-segments').selectedOptions].map((o) => o.value);
    if (segments.length) f.segments = segments;
    const abc = checked('abc');
    if (abc.length) f.abc_classes = abc;
    const churn = checked('churn');
    if (churn.length) f.churn_levels = churn;
    const days = $('campaign-not-visited').value.trim();
    if (days) f.not_visited_days = Number(days);
    return f;
  }

  function note(text) {
    $('campaign-note').textContent = text;
  }

  async function preview() {
    try {
      const answer = await request('/v1/campaigns/preview', { method: 'POST', body: { filter: filter() } });
      $('campaign-preview').textContent = `${answer.matching} customers match`;
    } catch (err) {
      $('campaign-preview').textContent = err.message;
    }
  }

  async function create(event) {
    event.preventDefault();
    const body = {
      name: $('campaign-name').value,
      filter: filter(),
      first_day: $('campaign-first').value,
      last_day: $('campaign-last').value,
      cost_minor: Math.round(Number($('campaign-cost').value || 0) * 100),
      currency: $('campaign-currency').value.trim().toUpperCase(),
      action: $('campaign-action').value,
      script: $('campaign-script').value,
      control_pct: Number($('campaign-control').value || 0),
    };
    try {
      const campaign = await request('/v1/campaigns', { method: 'POST', body });
      note(`Campaign "${campaign.name}" saved as a draft`);
      await load();
    } catch (err) {
      note(err.message);
    }
  }

  async function start(id) {
    try {
      const report = await request(`/v1/campaigns/${encodeURIComponent(id)}/start`, { method: 'POST', body: {} });
      note(`Started: ${report.targets} targets (${report.control} held out), ${report.actions_written} actions sent`
        + (report.actions_refused ? `, ${report.actions_refused} without an action` : ''));
      await load();
    } catch (err) {
      note(err.message);
    }
  }

  function resultCells(c, results) {
    if (!results) return ['–', '–', '–', '–', '–'];
    return [
      `${results.treated}${results.control ? ` + ${results.control} control` : ''}`,
      `${results.reached} (${fmtPercent(results.treated ? results.reached / results.treated : null)})`,
      `${results.converted} (${fmtPercent(results.conversion_rate)})`
        + (results.control ? ` vs ${fmtPercent(results.control_conversion_rate)}` : ''),
      fmtMoney(results.revenue_minor, c.currency),
      results.return_on_spend === null ? '–' : `${fmtPercent(results.return_on_spend)}${results.basis === 'attributed' ? ' (attributed)' : ''}`,
    ];
  }

  async function load() {
    const seq = ++state.seq;
    let list;
    try {
      list = await request('/v1/campaigns');
    } catch (err) {
      if (seq !== state.seq) return;
      // A rep has no campaigns: the panel stays hidden.
      $('campaigns-card').hidden = err.status === 404;
      $('campaigns-status').textContent = err.status === 404 ? '' : `Could not load: ${err.message}`;
      return;
    }
    const details = await Promise.all(list.campaigns.map((c) =>
      request(`/v1/campaigns/${encodeURIComponent(c.id)}`).catch(() => ({ campaign: c, results: null }))));
    if (seq !== state.seq) return;
    $('campaigns-card').hidden = false;
    $('campaigns-status').textContent = '';
    $('campaigns').querySelector('tbody').replaceChildren(...details.map(({ campaign: c, results }) => {
      const action = c.status === 'draft'
        ? el('button', { type: 'button', class: 'button campaign-start', 'data-id': c.id, text: 'Start' })
        : el('span', { class: 'muted small', text: `started ${fmtDay(c.started_at)}` });
      return el('tr', { 'data-id': c.id, 'data-status': c.status },
        el('td', { text: c.name }),
        el('td', { text: `${fmtDay(c.starts_at)} – ${fmtDay(c.ends_at - 1)}` }),
        el('td', { text: c.action }),
        el('td', { text: fmtMoney(c.cost_minor, c.currency) }),
        ...resultCells(c, results).map((t) => el('td', { text: t })),
        el('td', {}, action));
    }));
    $('campaigns-empty').hidden = details.length > 0;
  }

  function init() {
    $('campaign-segments').replaceChildren(...SEGMENTS.map((s) => el('option', { value: s, text: s.replace(/_/g, ' ') })));
    $('campaign-first').value = dayAfter(0);
    $('campaign-last').value = dayAfter(30);
    $('campaign-form').addEventListener('submit', create);
    $('campaign-preview-button').addEventListener('click', preview);
    $('campaigns').addEventListener('click', (event) => {
      const button = event.target.closest('button.campaign-start');
      if (button) start(button.getAttribute('data-id'));
    });
    document.addEventListener('fieldcrm:signed-in', load);
    document.addEventListener('fieldcrm:signed-out', () => {
      state.seq += 1;
      $('campaigns').querySelector('tbody').replaceChildren();
      $('campaigns-card').hidden = true;
    });
  }

  init();
})();
