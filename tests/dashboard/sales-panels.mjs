// The steps of the sales and analytics panels (pipeline, funnel, forecast, big deals, revenue,
// targets, analytics, campaigns), as the manager sees them.

import { UI_TIMEOUT_MS, assert, step, waitFor } from './harness.mjs';

// `anna`: the rep picked in the route steps (her id, her day and the manager's token).
export async function salesPanelSteps(page, base, anna) {
  // The sales panels: every figure drawn is checked against the API's own answer.
  const api = async (token, apiPath) => {
    const response = await fetch(`${base}${apiPath}`, { headers: { Authorization: `Bearer ${token}` } });
    assert(response.ok, `GET ${apiPath} answered ${response.status}`);
    return response.json();
  };

  await step('the pipeline panel draws a bar per open stage of the currency, from the data', async () => {
    const report = await api(anna.token, '/v1/pipeline');
    const currency = report.totals[0] && report.totals[0].currency;
    assert(currency, 'the demo has no open deals');
    const stages = report.stages.filter((s) => s.currency === currency).map((s) => s.stage);
    await waitFor(page, 'the pipeline bars', (n) =>
      document.querySelectorAll('#pipeline-chart g.bar-row').length === n, stages.length);
    const drawn = await page.$$eval('#pipeline-chart g.bar-row', (gs) => gs.map((g) => g.getAttribute('data-key')));
    assert(drawn.join() === stages.join(), `bars for ${drawn.join()}, the API has ${stages.join()}`);
    const rows = await page.$$eval('#pipeline-table tbody tr', (trs) => trs.length);
    assert(rows === stages.length, `${rows} pipeline rows for ${stages.length} stages`);
    const reps = await page.$$eval('#pipeline-reps tbody tr th', (ths) => ths.map((th) => th.textContent.trim()));
    assert(['anna', 'ben', 'clara'].every((n) => reps.includes(n)), `the pipeline per rep lists ${reps.join(', ')}`);
  });

  await step('the funnel chart has a band per stage, and the win rate is shown', async () => {
    await waitFor(page, 'five funnel bands', () =>
      document.querySelectorAll('#funnel-chart g.funnel-stage rect.funnel-band').length === 5);
    const period = await page.inputValue('#sales-period');
    const funnel = await api(anna.token, `/v1/pipeline/funnel?period=${period}`);
    const counts = await page.$$eval('#funnel-chart text.funnel-count', (ts) => ts.map((t) => Number(t.textContent)));
    assert(counts.join() === funnel.stages.map((s) => s.reached).join(),
      `the funnel shows ${counts.join()}, the API ${funnel.stages.map((s) => s.reached).join()}`);
    await waitFor(page, 'the win rate line', () => document.getElementById('win-rate').textContent.trim().length > 0);
  });

  await step('the forecast chart has two bars for each of six months', async () => {
    await waitFor(page, 'six forecast months', () =>
      document.querySelectorAll('#forecast-chart g.month').length === 6);
    const bars = await page.$$eval('#forecast-chart g.month rect', (rs) => rs.length);
    assert(bars === 12, `${bars} forecast bars, expected 12`);
  });

  await step('big deals lists the open deals over the amount, largest first', async () => {
    const report = await api(anna.token, '/v1/pipeline/big-deals?limit=20');
    await waitFor(page, 'the big deals rows', (n) =>
      document.querySelectorAll('#big-deals tbody tr').length === n, report.deals.length);
    const ids = await page.$$eval('#big-deals tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-opportunity-id')));
    assert(ids.join() === report.deals.map((d) => d.opportunity_id).join(), 'the big deals differ from the API');
    const amounts = report.deals.map((d) => d.amount_minor);
    assert(amounts.every((a, i) => i === 0 || amounts[i - 1] >= a), 'big deals are not largest first');
  });

  await step('the orders and revenue panel draws bars per rep, customer and product from the data', async () => {
    await waitFor(page, 'the revenue panel loaded', () =>
      document.getElementById('revenue-total').textContent.trim().length > 0);
    const period = await page.inputValue('#revenue-period');
    const currency = await page.$eval('#revenue-currency', (s) => s.value || null);
    const totals = (await api(anna.token, `/v1/revenue?period=${period}`)).totals;
    assert((totals[0] && totals[0].currency) === (currency || undefined) || (!totals.length && !currency),
      `the panel shows currency ${currency}, the API's first is ${totals[0] && totals[0].currency}`);
    for (const by of ['rep', 'customer', 'product']) {
      const report = await api(anna.token, `/v1/revenue?period=${period}&by=${by}&limit=100`);
      const groups = report.groups.filter((g) => g.currency === currency).slice(0, 10);
      await waitFor(page, `${groups.length} revenue bars per ${by}`, ([kind, n]) =>
        document.querySelectorAll(`#revenue-${kind}-chart g.bar-row`).length === n, [by, groups.length]);
      const drawn = await page.$$eval(`#revenue-${by}-chart g.bar-row`, (gs) => gs.map((g) => g.getAttribute('data-key')));
      assert(drawn.join() === groups.map((g) => g.id).join(), `revenue bars per ${by}: ${drawn.join()}, the API has ${groups.map((g) => g.id).join()}`);
      const nets = groups.map((g) => g.net_minor);
      assert(nets.every((n, i) => i === 0 || nets[i - 1] >= n), `revenue per ${by} is not largest first`);
      assert(await page.isHidden(`#revenue-${by}-empty`) === groups.length > 0, `the empty note per ${by} is wrong`);
    }
    const unknown = await api(anna.token, `/v1/revenue/unknown-products?period=${period}&limit=50`);
    await waitFor(page, 'the unknown-product lines as the API lists them', (n) =>
      document.querySelectorAll('#revenue-unknown li.flag-unknown_product').length === n, unknown.lines.length);
  });

  await step('order lines naming an unknown product are flagged, in the list and in the product bars', async () => {
    // The demo's orders name catalog products only: the API's answer for this step names one
    // the server does not know, as a device may write it.
    const period = await page.inputValue('#revenue-period');
    const line = {
      order_id: 'o-1', line_id: 'l-1', product_id: 'no-such-product', sku: 'X-404', name: 'From the back room',
      quantity: 3, net_minor: 4500, currency: 'EUR', customer_id: 'c-1', rep_id: anna.repId, ordered_at: Date.now(),
    };
    const byProduct = {
      period, by: 'product', currency: null, truncated: false,
      totals: [{ currency: 'EUR', orders: 1, net_minor: 9500, gross_minor: 9500 }],
      groups: [
        { id: 'p-known', name: 'Beans', sku: 'B-1', known: true, currency: 'EUR', lines: 1, quantity: 2, net_minor: 5000, gross_minor: 5000 },
        { id: 'no-such-product', name: 'From the back room', sku: 'X-404', known: false, currency: 'EUR', lines: 1, quantity: 3, net_minor: 4500, gross_minor: 4500 },
      ],
    };
    const json = (body) => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    const unknownUrl = /\/v1\/revenue\/unknown-products\?/;
    const byProductUrl = /\/v1\/revenue\?.*\bby=product\b/;
    await page.route(unknownUrl, (route) => route.fulfill(json({ period, count: 7, lines: [line] })));
    await page.route(byProductUrl, (route) => route.fulfill(json(byProduct)));
    try {
      await page.dispatchEvent('#revenue-period', 'change');
      await waitFor(page, 'one flagged unknown-product line', () =>
        document.querySelectorAll('#revenue-unknown li.flag-unknown_product').length === 1);
      const flag = await page.$eval('#revenue-unknown li.flag-unknown_product', (li) => li.textContent);
      assert(flag.includes('X-404') && flag.includes('Unknown product'), `the flag reads "${flag}"`);
      assert(await page.$eval('#revenue-unknown-count', (n) => n.textContent) === '7', 'the count is not the API\'s');
      assert((await page.$eval('#revenue-unknown-more', (n) => n.textContent)).includes('6 more'), 'the unlisted lines are not said');
      // The demo's orders are in EUR, the panel's first currency.
      await page.selectOption('#revenue-currency', 'EUR');
      await waitFor(page, 'the unknown product drawn as unknown', () =>
        [...document.querySelectorAll('#revenue-product-chart g.bar-row')].some((g) =>
          g.getAttribute('data-key') === 'no-such-product' && g.classList.contains('bar-unknown')));
      const known = await page.$eval('#revenue-product-chart g.bar-row[data-key="p-known"]', (g) => g.classList.contains('bar-unknown'));
      assert(!known, 'a known product is drawn as unknown');
    } finally {
      await page.unroute(unknownUrl);
      await page.unroute(byProductUrl);
    }
    await page.dispatchEvent('#revenue-period', 'change');
    await waitFor(page, 'the real unknown-product lines again', () =>
      document.querySelectorAll('#revenue-unknown li[data-order-id="o-1"]').length === 0);
  });

  await step('the manager sets a target and sees its attainment and the ranking', async () => {
    await page.selectOption('#target-rep', { label: 'anna' });
    await page.selectOption('#target-metric', 'deals_won');
    await page.fill('#target-value', '2');
    await page.click('#target-save');
    await waitFor(page, "anna's deals-won attainment", (repId) => {
      const cell = document.querySelector(`#targets-table tr[data-rep-id="${repId}"] td[data-metric="deals_won"]`);
      return cell && /\/ 2/.test(cell.textContent);
    }, anna.repId);
    await page.selectOption('#ranking-metric', 'deals_won');
    await waitFor(page, 'anna ranked first', (repId) => {
      const first = document.querySelector('#ranking li.ranking-row');
      return first && first.getAttribute('data-rep-id') === repId && first.querySelector('.ranking-rank').textContent === '#1';
    }, anna.repId);
    const period = await page.inputValue('#targets-period');
    const targets = await api(anna.token, `/v1/targets?period=${period}`);
    const annaTargets = targets.reps.find((r) => r.rep_id === anna.repId).targets;
    assert(annaTargets.some((t) => t.metric === 'deals_won' && t.target === 2), 'the target was not stored');
  });

  await step("a revenue target shows the rep's revenue from orders as its actual, and ranks", async () => {
    await page.selectOption('#target-rep', { label: 'anna' });
    await page.selectOption('#target-metric', 'revenue');
    await page.fill('#target-currency', 'EUR');
    await page.fill('#target-value', '1000');
    await page.click('#target-save');
    const period = await page.inputValue('#targets-period');
    await waitFor(page, "anna's revenue attainment", (repId) => {
      const cell = document.querySelector(`#targets-table tr[data-rep-id="${repId}"] td[data-metric="revenue"]`);
      return cell && /\//.test(cell.textContent) && !cell.textContent.includes('no actual');
    }, anna.repId);
    const targets = await api(anna.token, `/v1/targets?period=${period}`);
    const revenue = targets.reps.find((r) => r.rep_id === anna.repId).targets.find((t) => t.metric === 'revenue');
    assert(revenue && revenue.target === 100000 && Number.isInteger(revenue.actual), `anna's revenue target: ${JSON.stringify(revenue)}`);
    const percent = await page.$eval(`#targets-table tr[data-rep-id="${anna.repId}"] td[data-metric="revenue"] .attainment-percent`, (n) => n.textContent);
    assert(percent === `${revenue.percent}%`, `the cell shows ${percent}, the API ${revenue.percent}%`);
    await page.selectOption('#ranking-metric', 'revenue');
    await waitFor(page, 'anna ranked on revenue', (repId) => {
      const row = document.querySelector(`#ranking li.ranking-row[data-rep-id="${repId}"]`);
      return row && /^#\d+$/.test(row.querySelector('.ranking-rank').textContent);
    }, anna.repId);
  });

  await step('the analytics panels draw the RFM grid, the Pareto curve, the CLV bars and the churn list from the data', async () => {
    const overview = await api(anna.token, '/v1/analytics');
    assert(overview.run, 'the demo has no analytics run');
    const panels = await api(anna.token, '/v1/analytics/panels');
    const rules = await api(anna.token, '/v1/analytics/rules?limit=10');
    await waitFor(page, 'the RFM grid', () => document.querySelectorAll('#rfm-grid g.rfm-cell').length === 25);
    const cells = await page.$$eval('#rfm-grid g.rfm-cell', (gs) => gs.map((g) =>
      [Number(g.getAttribute('data-r')), Number(g.getAttribute('data-f')), Number(g.getAttribute('data-count'))]));
    for (const [r, f, count] of cells) {
      assert(overview.rfm_grid[r - 1][f - 1] === count, `RFM cell R${r} F${f} shows ${count}, the API has ${overview.rfm_grid[r - 1][f - 1]}`);
    }
    assert(cells.reduce((sum, c) => sum + c[2], 0) > 0, 'the RFM grid is empty');
    const points = await page.$eval('#pareto-chart path.pareto-line', (p) => Number(p.getAttribute('data-points')));
    assert(points === panels.pareto.length, `the Pareto curve has ${points} points, the API ${panels.pareto.length}`);
    const bins = await page.$$eval('#clv-chart rect.clv-bin', (rs) => rs.map((r) => Number(r.getAttribute('data-count'))));
    assert(bins.join() === panels.clv.counts.join(), `CLV bars ${bins.join()}, the API ${panels.clv.counts.join()}`);
    const churn = await page.$$eval('#churn-list tbody tr', (rows) => rows.map((r) => r.getAttribute('data-id')));
    assert(churn.join() === panels.churn.map((c) => c.customer_id).join(), "the churn list is not the API's, in its order");
    if (panels.churn.length > 0) {
      const owner = await page.$eval('#churn-list tbody tr td:nth-child(2)', (td) => td.textContent);
      assert(owner === (panels.churn[0].owner || '–'), `the first at-risk customer's owner shows ${owner}`);
    }
    const top = await page.$$eval('#top-clv tbody tr', (rows) => rows.length);
    assert(top === panels.top_clv.length, `${top} top customers drawn, the API has ${panels.top_clv.length}`);
    const ruleRows = await page.$$eval('#rules-table tbody tr', (rows) => rows.length);
    assert(ruleRows === rules.rules.length, `${ruleRows} rules drawn, the API has ${rules.rules.length}`);
  });

  await step('the manager sets up a campaign on a segment, previews it, starts it and sees its results', async () => {
    await page.waitForSelector('#campaigns-card', { state: 'visible', timeout: UI_TIMEOUT_MS });
    await page.fill('#campaign-name', 'Win back the A customers');
    await page.check('#campaign-form input[name="abc"][value="A"]');
    await page.fill('#campaign-control', '20');
    await page.fill('#campaign-script', 'Offer the autumn range');
    const expected = await fetch(`${base}/v1/campaigns/preview`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${anna.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ filter: { abc_classes: ['A'] } }),
    }).then((r) => r.json());
    assert(expected.matching > 0, `no A customer in the demo: ${JSON.stringify(expected)}`);
    await page.click('#campaign-preview-button');
    await waitFor(page, 'the preview count', (n) =>
      document.getElementById('campaign-preview').textContent === `${n} customers match`, expected.matching);
    await page.click('#campaign-save');
    await waitFor(page, 'the draft in the list', () =>
      document.querySelectorAll('#campaigns tbody tr[data-status="draft"] button.campaign-start').length === 1);
    await page.click('#campaigns tbody tr[data-status="draft"] button.campaign-start');
    await waitFor(page, 'the campaign started', () =>
      document.querySelectorAll('#campaigns tbody tr[data-status="started"]').length === 1);
    const id = await page.$eval('#campaigns tbody tr[data-status="started"]', (tr) => tr.getAttribute('data-id'));
    const { results } = await api(anna.token, `/v1/campaigns/${id}`);
    assert(results.treated + results.control === expected.matching, `targets ${results.treated} + ${results.control}, preview ${expected.matching}`);
    assert(results.control > 0 && results.basis === 'control_group', `control ${results.control}, basis ${results.basis}`);
    const targetsCell = await page.$eval('#campaigns tbody tr[data-status="started"] td:nth-child(5)', (td) => td.textContent);
    assert(targetsCell.startsWith(String(results.treated)), `the targets cell shows ${targetsCell}, the API ${results.treated} treated`);
    assert((await page.$eval('#campaign-note', (n) => n.textContent)).startsWith('Started:'), 'no start report shown');
  });
}
