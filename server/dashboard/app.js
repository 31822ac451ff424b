// FieldCRM manager dashboard: plain ES2020, no build step, no dependency, nothing loaded from
// anywhere but this server. Every piece of data is inserted with textContent/createElement.
'use strict';

(() => {
  const TOKEN_KEY = 'fieldcrm.dashboard.token';
  const DAY_MS = 86400000;
  const VERIFICATIONS = ['verified', 'uncertain', 'out_of_range', 'no_customer_location'];
  const VERIFICATION_LABELS = {
    verified: 'Verified',
    uncertain: 'Uncertain',
    out_of_range: 'Out of range',
    no_customer_location: 'No customer location',
  };
  const FLAG_LABELS = {
    implausible_speed: 'Implausible speed',
    mock_location: 'Mock location',
    stale_fix: 'Stale GPS fix',
    out_of_planned_order: 'Out of planned order',
    planned_not_visited: 'Planned, not visited',
    out_of_range: 'Out of range',
    pin_moved_at_check_in: 'Pin moved at check-in',
  };

  const $ = (id) => document.getElementById(id);

  const state = {
    token: null,
    me: null,
    reps: [],
    route: null,
    routeSeq: 0,
    teamSeq: 0,
    overdueSeq: 0,
  };

  // ---------------------------------------------------------------- helpers

  const { el, svg, isNum } = window.FieldcrmKit;

  const pad2 = (n) => String(n).padStart(2, '0');

  function fmtTime(ms) {
    if (!isNum(ms)) return '–';
    const d = new Date(ms);
    return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  }

  function localDateString(dateOrMs) {
    const d = dateOrMs instanceof Date ? dateOrMs : new Date(dateOrMs);
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  }

  function parseDateInput(value) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
    if (!m) return null;
    // Local noon: safely inside the day whatever the DST transition.
    return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12, 0, 0, 0);
  }

  function addDays(value, days) {
    const d = parseDateInput(value);
    if (!d) return value;
    d.setDate(d.getDate() + days);
    return localDateString(d);
  }

  // Minutes east of UTC in effect on that local day (DST aware).
  function tzOffsetFor(value) {
    const d = parseDateInput(value) || new Date();
    return -d.getTimezoneOffset();
  }

  const shortDate = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
  const longDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
  const headingDate = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });

  function fmtDateTime(ms) {
    if (!isNum(ms)) return '–';
    return `${shortDate.format(new Date(ms))}, ${fmtTime(ms)}`;
  }

  function fmtKm(metres) {
    return isNum(metres) ? (metres / 1000).toFixed(1) : '–';
  }

  function fmtInt(v) {
    return isNum(v) ? String(Math.round(v)) : '–';
  }

  function fmtPercent(share) {
    return isNum(share) ? `${Math.round(share * 100)}%` : '–';
  }

  function fmtDuration(ms) {
    if (!isNum(ms)) return '–';
    const minutes = Math.round(ms / 60000);
    if (minutes < 60) return `${minutes} min`;
    return `${Math.floor(minutes / 60)} h ${pad2(minutes % 60)} min`;
  }

  function fmtDistance(metres) {
    if (!isNum(metres)) return '–';
    return metres < 1000 ? `${Math.round(metres)} m` : `${(metres / 1000).toFixed(1)} km`;
  }

  function customerLabel(visit) {
    return visit.customer_name || `Customer ${String(visit.customer_id || '').slice(0, 8)}`;
  }

  // The visit's verification class. null (not verified) counts as uncertain, or as
  // no_customer_location when there is nothing to compare with; a value outside the API's
  // contract is shown as "unknown" rather than guessed, so it does not go unnoticed.
  function verificationOf(visit) {
    if (VERIFICATIONS.includes(visit.verification)) return visit.verification;
    if (visit.verification === null || visit.verification === undefined) {
      return isNum(visit.customer_lat) && isNum(visit.customer_lon) ? 'uncertain' : 'no_customer_location';
    }
    return 'unknown';
  }

  function verificationLabel(visit, verification) {
    return VERIFICATION_LABELS[verification] || `Unknown (${String(visit.verification)})`;
  }

  // ---------------------------------------------------------------- errors

  function showError(message) {
    $('error-text').textContent = message;
    $('error').hidden = false;
  }

  function clearError() {
    $('error').hidden = true;
    $('error-text').textContent = '';
  }

  function reportError(err, context) {
    if (err && err.aborted) return;
    const message = err && err.message ? err.message : String(err);
    showError(context ? `${context}: ${message}` : message);
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function request(path, options = {}) {
    const headers = new Headers(options.headers || {});
    if (state.token && !options.anonymous) headers.set('Authorization', `Bearer ${state.token}`);
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
      let message = `HTTP ${response.status} ${response.statusText}`.trim();
      try {
        const body = await response.json();
        if (body && body.error) {
          code = body.error.code || code;
          message = body.error.message || message;
        }
      } catch (_) {
        // Not JSON: keep the status line.
      }
      const error = new ApiError(response.status, code, message);
      if (response.status === 401 && !options.anonymous) sessionExpired(error);
      throw error;
    }
    return options.raw ? response : response.json();
  }

  function sessionExpired(error) {
    // The token is no longer accepted: back to the sign-in form, with the reason shown.
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    clearData();
    showLogin();
    error.aborted = true;
    showError(`Signed out: ${error.message}`);
  }

  // ---------------------------------------------------------------- sign-in

  function showLogin() {
    state.me = null;
    state.route = null;
    $('app-view').hidden = true;
    $('session').hidden = true;
    $('login-view').hidden = false;
    $('password').value = '';
    (($('username').value && $('password')) || $('username')).focus();
  }

  async function onLogin(event) {
    event.preventDefault();
    clearError();
    const username = $('username').value.trim();
    const password = $('password').value;
    if (!username || !password) {
      showError('Enter a username and a password.');
      return;
    }
    const button = $('login-submit');
    button.disabled = true;
    try {
      const answer = await request('/v1/auth/login', {
        method: 'POST',
        body: { username, password },
        anonymous: true,
      });
      state.token = answer.token;
      sessionStorage.setItem(TOKEN_KEY, answer.token);
    } catch (err) {
      button.disabled = false;
      reportError(err, 'Sign-in failed');
      $('password').select();
      return;
    }
    try {
      $('password').value = '';
      await enterDashboard();
    } catch (err) {
      reportError(err, 'Could not open the dashboard');
    } finally {
      button.disabled = false;
    }
  }

  function onSignOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    clearError();
    history.replaceState(null, '', location.pathname + location.search);
    clearData();
    showLogin();
  }

  // Forgets everything the previous session loaded, and drops its answers still under way,
  // so the next user never sees a glimpse of it.
  function clearData() {
    state.reps = [];
    state.routeSeq += 1;
    state.teamSeq += 1;
    state.overdueSeq += 1;
    $('rep').replaceChildren();
    resetRoute();
    $('route-status').textContent = '';
    $('team-overview').tBodies[0].replaceChildren();
    $('team-empty').hidden = true;
    $('overdue').tBodies[0].replaceChildren();
    $('overdue-empty').hidden = true;
    $('overdue-count').textContent = '';
    document.dispatchEvent(new CustomEvent('fieldcrm:signed-out'));
  }

  async function enterDashboard() {
    const [me, reps] = await Promise.all([request('/v1/me'), request('/v1/reps')]);
    state.me = me;
    state.reps = (reps.reps || []).slice().sort((a, b) => a.username.localeCompare(b.username));
    // The sales panels (sales.js, targets.js) start from here.
    document.dispatchEvent(new CustomEvent('fieldcrm:signed-in', { detail: { me, reps: state.reps } }));

    $('user').replaceChildren(
      el('span', { class: 'user-name', text: me.username }),
      el('span', { class: `role role-${me.role}`, text: me.role })
    );
    $('session').hidden = false;
    $('login-view').hidden = true;
    $('app-view').hidden = false;

    const select = $('rep');
    select.replaceChildren(...state.reps.map((rep) => el('option', { value: rep.id, text: rep.username })));
    select.disabled = state.reps.length === 0;

    const isRep = me.role === 'rep';
    $('team-note').hidden = !isRep;
    $('team-wrap').hidden = isRep;
    $('team-range').hidden = isRep;
    $('team-empty').hidden = true;

    // Restore the selection from the address (a reload keeps the view), else the default:
    // the caller themself if they are a rep in the list, else the first rep.
    const hash = new URLSearchParams(location.hash.slice(1));
    const fromHash = state.reps.find((r) => r.id === hash.get('rep'));
    const initial = fromHash || state.reps.find((r) => r.id === me.id) || state.reps[0];
    if (!initial) {
      resetRoute();
      $('route-status').textContent = 'No reps to review.';
      setDate(localDateString(new Date()));
      loadOverdue();
      return;
    }
    select.value = initial.id;
    const date = fromHash && parseDateInput(hash.get('date')) ? hash.get('date') : defaultDateFor(initial);
    setDate(date);
    loadRoute();
    loadOverdue();
  }

  function defaultDateFor(rep) {
    return localDateString(rep && isNum(rep.last_check_in_at) ? rep.last_check_in_at : Date.now());
  }

  function selectedRep() {
    return state.reps.find((r) => r.id === $('rep').value) || null;
  }

  // Sets the day and re-defaults the team range to the 7 days ending on it.
  function setDate(value) {
    $('date').value = value;
    $('to').value = value;
    $('from').value = addDays(value, -6);
    if (state.me && state.me.role !== 'rep') loadTeam();
  }

  function selectRep(repId) {
    const rep = state.reps.find((r) => r.id === repId);
    if (!rep) return;
    clearError();
    $('rep').value = rep.id;
    setDate(defaultDateFor(rep));
    loadRoute();
  }

  // ---------------------------------------------------------------- route

  function resetRoute() {
    state.route = null;
    $('route-title').textContent = 'Route';
    for (const id of ['sum-distance', 'sum-visits', 'sum-verified', 'sum-pings', 'sum-gaps', 'sum-first', 'sum-last']) {
      $(id).textContent = '–';
    }
    $('sum-last').parentElement.querySelector('.sub')?.remove();
    clearMap();
    $('visits').tBodies[0].replaceChildren();
    $('visits-empty').hidden = true;
    $('flags').replaceChildren();
    $('flags-count').textContent = '';
  }

  async function loadRoute() {
    const rep = selectedRep();
    const date = $('date').value;
    if (!rep || !parseDateInput(date)) return;
    history.replaceState(null, '', `#rep=${encodeURIComponent(rep.id)}&date=${date}`);
    const seq = ++state.routeSeq;
    const card = $('route-card');
    card.setAttribute('aria-busy', 'true');
    $('route-status').textContent = 'Loading…';
    try {
      const route = await request(
        `/v1/routes/${encodeURIComponent(rep.id)}/${date}?tz_offset_min=${tzOffsetFor(date)}`
      );
      if (seq !== state.routeSeq) return;
      state.route = route;
      renderRoute(route);
      $('route-status').textContent = '';
    } catch (err) {
      if (seq !== state.routeSeq) return;
      resetRoute();
      $('route-status').textContent = 'Could not load the route.';
      reportError(err, `Route of ${rep.username} on ${date}`);
    } finally {
      if (seq === state.routeSeq) card.removeAttribute('aria-busy');
    }
  }

  function renderRoute(route) {
    const day = parseDateInput(route.date);
    $('route-title').textContent = `${route.username} · ${day ? headingDate.format(day) : route.date}`;
    renderSummary(route);
    renderMap(route);
    renderVisits(route);
    renderFlags(route);
  }

  function renderSummary(route) {
    const visits = route.visits || [];
    const verified = visits.filter((v) => v.verification === 'verified').length;
    const gaps = route.gaps || [];
    const gapTime = gaps.reduce((sum, g) => sum + (isNum(g.duration_ms) ? g.duration_ms : 0), 0);
    $('sum-distance').replaceChildren(`${fmtKm(route.total_distance_m)} `, el('small', { text: 'km' }),
      el('small', { class: 'sub', text: `${(route.segments || []).length} segment${(route.segments || []).length === 1 ? '' : 's'}` }));
    const done = visits.filter((v) => v.status === 'done').length;
    $('sum-visits').replaceChildren(String(visits.length), el('small', { class: 'sub', text: `${done} done` }));
    $('sum-verified').replaceChildren(
      visits.length ? fmtPercent(verified / visits.length) : '–',
      el('small', { class: 'sub', text: `${verified} of ${visits.length}` })
    );
    $('sum-pings').textContent = fmtInt(route.pings);
    $('sum-gaps').replaceChildren(
      String(gaps.length),
      el('small', { class: 'sub', text: gaps.length ? fmtDuration(gapTime) : 'none' })
    );
    $('sum-first').textContent = fmtTime(route.first_check_in_at);
    $('sum-last').textContent = fmtTime(route.last_check_in_at);
    $('sum-last').parentElement.classList.toggle('none', !isNum(route.first_check_in_at));
    const span = isNum(route.first_check_in_at) && isNum(route.last_check_in_at)
      ? fmtDuration(route.last_check_in_at - route.first_check_in_at) : '';
    $('sum-last').parentElement.querySelector('.sub')?.remove();
    if (span) $('sum-last').parentElement.append(el('small', { class: 'sub', text: `first – last, ${span}` }));
  }

  // ---------------------------------------------------------------- map

  // Drawn by map.js; a visit marker clicked or entered highlights its row.
  const routeMap = window.FieldcrmMap.create({
    fmtTime, fmtDuration, fmtDistance, customerLabel, verificationOf, verificationLabel,
    onVisit: (visitId) => highlightVisit(visitId, true),
  });
  const clearMap = routeMap.clearMap;
  const renderMap = routeMap.renderMap;

  function highlightVisit(visitId, scroll) {
    for (const node of document.querySelectorAll('.highlight')) node.classList.remove('highlight');
    if (!visitId) return;
    for (const node of document.querySelectorAll('[data-visit-id]')) {
      if (node.getAttribute('data-visit-id') === visitId) node.classList.add('highlight');
    }
    const row = document.querySelector(`#visits tr.highlight`);
    if (scroll && row) row.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  // ---------------------------------------------------------------- tables

  function cell(text, attrs) {
    return el('td', attrs, text);
  }

  const BADGE_LABELS = { ...VERIFICATION_LABELS, no_customer_location: 'No location' };

  function badge(visit, verification) {
    return el('span', {
      class: `badge badge-${verification}`,
      title: verificationLabel(visit, verification),
      text: BADGE_LABELS[verification] || verificationLabel(visit, verification),
    });
  }

  function renderVisits(route) {
    const visits = route.visits || [];
    const rows = visits.map((v) => {
      const verification = verificationOf(v);
      const outOfOrder = isNum(v.planned_sequence) && v.planned_sequence !== v.sequence;
      const customer = el('td', { class: 'customer-cell' },
        el('span', { class: 'customer-name', text: customerLabel(v) }));
      if (v.status && v.status !== 'done') {
        const status = /^[a-z_]+$/.test(v.status) ? v.status : 'other';
        customer.append(el('span', { class: `status status-${status}`, text: String(v.status).replace(/_/g, ' ') }));
      }
      const verificationCell = el('td', { class: 'verification-cell' }, badge(v, verification));
      if (v.mock) verificationCell.append(el('span', { class: 'marker marker-mock', title: 'Mock location reported by the device', text: 'mock' }));
      if (v.stale) verificationCell.append(el('span', { class: 'marker marker-stale', title: 'Stale GPS fix', text: 'stale' }));
      const row = el('tr', { 'data-visit-id': v.visit_id, tabindex: 0 },
        cell(v.sequence, { class: 'num seq' }),
        cell(isNum(v.planned_sequence) ? v.planned_sequence : '–', { class: `num${outOfOrder ? ' out-of-order' : ''}`, title: outOfOrder ? 'Visited out of the planned order' : null }),
        customer,
        cell(fmtTime(v.check_in_at), { class: 'time' }),
        cell(fmtTime(v.check_out_at), { class: 'time' }),
        cell(isNum(v.dwell_ms) ? Math.round(v.dwell_ms / 60000) : '–', { class: 'num' }),
        cell(isNum(v.distance_from_customer_m) ? Math.round(v.distance_from_customer_m) : '–', { class: 'num' }),
        cell(isNum(v.accuracy_m) ? Math.round(v.accuracy_m) : '–', { class: 'num' }),
        verificationCell);
      row.addEventListener('click', () => highlightVisit(v.visit_id, false));
      row.addEventListener('keydown', (e) => { if (e.key === 'Enter') highlightVisit(v.visit_id, false); });
      return row;
    });
    $('visits').tBodies[0].replaceChildren(...rows);
    $('visits-empty').hidden = rows.length > 0;
  }

  function renderFlags(route) {
    // By time, flags without one last; the server's order breaks ties.
    const flags = (route.flags || [])
      .map((f, i) => ({ f, i }))
      .sort((x, y) => (isNum(x.f.at) ? x.f.at : Infinity) - (isNum(y.f.at) ? y.f.at : Infinity) || x.i - y.i)
      .map(({ f }) => f);
    const list = $('flags');
    $('flags-count').textContent = flags.length ? String(flags.length) : '';
    if (!flags.length) {
      list.replaceChildren(el('li', { class: 'no-flags', text: 'No flags' }));
      return;
    }
    list.replaceChildren(...flags.map((f) => {
      const kind = /^[a-z_]+$/.test(f.kind || '') ? f.kind : 'other';
      const item = el('li', { class: `flag flag-${kind}`, 'data-visit-id': f.visit_id || null },
        el('span', { class: 'flag-time', text: isNum(f.at) ? fmtTime(f.at) : '–' }),
        el('span', { class: 'flag-kind', text: FLAG_LABELS[kind] || kind.replace(/_/g, ' ') }),
        el('span', { class: 'flag-detail', text: f.detail || '' }));
      if (f.visit_id) {
        item.tabIndex = 0;
        item.addEventListener('click', () => highlightVisit(f.visit_id, true));
        item.addEventListener('keydown', (e) => { if (e.key === 'Enter') highlightVisit(f.visit_id, true); });
      }
      return item;
    }));
  }

  async function loadTeam() {
    if (!state.me || state.me.role === 'rep') return;
    const from = $('from').value;
    const to = $('to').value;
    if (!parseDateInput(from) || !parseDateInput(to)) return;
    if (from > to) {
      showError('Team overview: the start date is after the end date.');
      return;
    }
    const seq = ++state.teamSeq;
    try {
      const answer = await request(`/v1/team/overview?from=${from}&to=${to}&tz_offset_min=${tzOffsetFor(to)}`);
      if (seq !== state.teamSeq) return;
      renderTeam(answer.reps || []);
    } catch (err) {
      if (seq !== state.teamSeq) return;
      if (err.status === 403) {
        // Not a manager after all: explain instead of failing.
        $('team-note').hidden = false;
        $('team-wrap').hidden = true;
        $('team-range').hidden = true;
        $('team-empty').hidden = true;
        return;
      }
      $('team-overview').tBodies[0].replaceChildren();
      reportError(err, 'Team overview');
    }
  }

  // The page's CSP allows no inline style attribute; a CSSOM property is fine.
  function shareFill(share) {
    const fill = el('span', { class: 'share-fill' });
    fill.style.width = `${isNum(share) ? Math.round(Math.min(1, Math.max(0, share)) * 100) : 0}%`;
    return fill;
  }

  function renderTeam(reps) {
    const selected = $('rep').value;
    const rows = reps
      .slice()
      .sort((a, b) => a.username.localeCompare(b.username))
      .map((r) => {
        const row = el('tr', { 'data-rep-id': r.rep_id, tabindex: 0, class: r.rep_id === selected ? 'selected' : null, title: `Show the route of ${r.username}` },
          el('th', { scope: 'row', 'data-col': 'rep', text: r.username }),
          cell(fmtInt(r.visits), { class: 'num', 'data-col': 'visits' }),
          el('td', { class: 'num', 'data-col': 'verified' },
            el('span', { class: 'share' },
              el('span', { class: 'share-bar' }, shareFill(r.verified_share)),
              fmtPercent(r.verified_share))),
          cell(fmtKm(r.distance_m), { class: 'num', 'data-col': 'distance' }),
          cell(fmtDateTime(r.first_check_in_at), { 'data-col': 'first' }),
          cell(fmtDateTime(r.last_check_in_at), { 'data-col': 'last' }));
        const choose = () => {
          if (state.reps.some((x) => x.id === r.rep_id)) selectRep(r.rep_id);
          else showError(`${r.username} is not among the reps you can review.`);
        };
        row.addEventListener('click', choose);
        row.addEventListener('keydown', (e) => { if (e.key === 'Enter') choose(); });
        return row;
      });
    $('team-overview').tBodies[0].replaceChildren(...rows);
    $('team-empty').hidden = rows.length > 0;
  }

  function markSelectedTeamRow() {
    const selected = $('rep').value;
    for (const row of $('team-overview').tBodies[0].rows) {
      row.classList.toggle('selected', row.getAttribute('data-rep-id') === selected);
    }
  }

  async function loadOverdue() {
    const seq = ++state.overdueSeq;
    try {
      const answer = await request('/v1/coverage/overdue?limit=50');
      if (seq !== state.overdueSeq) return;
      renderOverdue(answer.customers || []);
    } catch (err) {
      if (seq !== state.overdueSeq) return;
      $('overdue').tBodies[0].replaceChildren();
      reportError(err, 'Overdue customers');
    }
  }

  function renderOverdue(customers) {
    const rows = customers.map((c) => {
      const days = isNum(c.overdue_days) ? c.overdue_days : null;
      const severity = days === null ? '' : days >= 14 ? 'high' : days >= 7 ? 'medium' : 'low';
      return el('tr', { 'data-customer-id': c.customer_id },
        cell(c.name || String(c.customer_id || '').slice(0, 8), { class: 'customer-cell' }),
        cell(c.territory || '–', { class: 'muted' }),
        cell(isNum(c.cadence_days) ? `${c.cadence_days} d` : '–', { class: 'num' }),
        cell(isNum(c.last_visit_at) ? longDate.format(new Date(c.last_visit_at)) : 'never', { class: isNum(c.last_visit_at) ? '' : 'never' }),
        el('td', { class: 'num' }, el('span', { class: `overdue overdue-${severity}`, text: days === null ? '–' : days <= 0 ? 'due' : `${days} d` })));
    });
    $('overdue').tBodies[0].replaceChildren(...rows);
    $('overdue-empty').hidden = rows.length > 0;
    $('overdue-count').textContent = rows.length ? String(rows.length) : '';
  }

  // ---------------------------------------------------------------- export

  async function onExport(event) {
    event.preventDefault();
    const link = event.currentTarget;
    const format = link.getAttribute('data-format');
    const rep = selectedRep();
    const date = $('date').value;
    if (!rep || !parseDateInput(date)) {
      showError('Choose a rep and a day to export.');
      return;
    }
    if (link.getAttribute('aria-busy') === 'true') return;
    link.setAttribute('aria-busy', 'true');
    try {
      const response = await request(
        `/v1/routes/${encodeURIComponent(rep.id)}/${date}/export?format=${format}&tz_offset_min=${tzOffsetFor(date)}`,
        { raw: true }
      );
      const blob = await response.blob();
      const ext = { geojson: 'geojson', gpx: 'gpx', csv: 'csv' }[format] || format;
      const filename = filenameFrom(response.headers.get('Content-Disposition')) || `route-${rep.username}-${date}.${ext}`;
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: filename, hidden: 'hidden' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 30000);
    } catch (err) {
      reportError(err, `${link.textContent} export`);
    } finally {
      link.removeAttribute('aria-busy');
    }
  }

  function filenameFrom(disposition) {
    if (!disposition) return null;
    const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
    if (star) {
      try { return sanitizeFilename(decodeURIComponent(star[1])); } catch (_) { /* fall through */ }
    }
    const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
    return plain ? sanitizeFilename(plain[1]) : null;
  }

  function sanitizeFilename(name) {
    const clean = name.replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_').trim();
    return clean || null;
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    $('login-form').addEventListener('submit', onLogin);
    $('sign-out').addEventListener('click', onSignOut);
    $('error-close').addEventListener('click', clearError);
    $('rep').addEventListener('change', () => selectRep($('rep').value));
    $('date').addEventListener('change', () => {
      if (!parseDateInput($('date').value)) return;
      clearError();
      setDate($('date').value);
      loadRoute();
    });
    $('prev-day').addEventListener('click', () => { clearError(); setDate(addDays($('date').value, -1)); loadRoute(); });
    $('next-day').addEventListener('click', () => { clearError(); setDate(addDays($('date').value, 1)); loadRoute(); });
    $('from').addEventListener('change', loadTeam);
    $('to').addEventListener('change', loadTeam);
    $('rep').addEventListener('change', markSelectedTeamRow);
    for (const link of document.querySelectorAll('.export-link')) link.addEventListener('click', onExport);

    state.token = sessionStorage.getItem(TOKEN_KEY);
    if (!state.token) {
      showLogin();
      return;
    }
    enterDashboard().catch((err) => {
      if (!err.aborted) {
        showLogin();
        reportError(err, 'Could not open the dashboard');
      }
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
