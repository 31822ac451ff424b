// FieldCRM dashboard: the route map of a reviewed rep-day, drawn as SVG from the route review
// (track segments, gaps, customers, visit markers coloured by verification). With a tile source
// configured on the server (--map-tiles, read from /dashboard/basemap.json) the same SVG is laid
// over a Leaflet map of those tiles (vendored, served from /dashboard/vendor/); without one it
// is drawn on a plain grid with a scale bar and a north arrow, and nothing is loaded from
// another host. app.js creates it with the formatting and labelling rules it shares with the
// tables, and what a click on a visit does.
'use strict';

window.FieldcrmMap = {
  create({ fmtTime, fmtDuration, fmtDistance, customerLabel, verificationOf, verificationLabel, onVisit }) {
    const { svg, el, isNum } = window.FieldcrmKit;
    const $ = (id) => document.getElementById(id);
    const MAP_W = 800;
    const MAP_H = 560;
    const MAP_PAD = 36;
    const METRES_PER_DEGREE = (6371008.8 * Math.PI) / 180;
    // A single point or a short stop is not blown up past this zoom on the base map.
    const MAX_FIT_ZOOM = 17;

    // The tile source, once read: null draws the grid. Until it is read a route waits for it
    // (the page asks at load, long before a route is picked).
    let tiles = null;
    const configured = fetch('/dashboard/basemap.json', { cache: 'no-cache' })
      .then((response) => (response.ok ? response.json() : { tiles: null }))
      .then((config) => {
        const t = config && config.tiles;
        if (t && typeof t.url_template === 'string' && window.L) {
          tiles = { url: t.url_template, attribution: typeof t.attribution === 'string' ? t.attribution : '' };
        }
      })
      .catch(() => {})
      .finally(showNote);
    let drawSeq = 0;

    function showNote() {
      const note = $('map-note');
      if (!note) return;
      note.textContent = tiles
        ? 'Map tiles are loaded from the tile server configured for this FieldCRM server.'
        : 'Drawn on a plain grid: no map tiles are configured, so the dashboard loads nothing from the internet.';
    }

    // -------------------------------------------------------------- the static view (grid)

    function mapSvg() {
      return $('route-map');
    }

    // The SVG back in the frame with its fixed view box, the base map (if any) hidden.
    function useStaticView() {
      const map = mapSvg();
      if (leaflet) {
        leaflet.container.hidden = true;
        leaflet.map.removeLayer(leaflet.overlay);
      }
      const frame = document.querySelector('.map-frame');
      if (map.parentElement !== frame) frame.prepend(map);
      map.classList.remove('leaflet-zoom-hide');
      map.style.removeProperty('width');
      map.style.removeProperty('height');
      map.style.removeProperty('transform');
      map.setAttribute('viewBox', `0 0 ${MAP_W} ${MAP_H}`);
      map.removeAttribute('width');
      map.removeAttribute('height');
      return map;
    }

    function emptySvg(map) {
      map.replaceChildren($('route-map-title'));
    }

    function clearMap(message) {
      drawSeq += 1;
      const map = useStaticView();
      emptySvg(map);
      map.append(svg('rect', { class: 'map-bg', x: 0, y: 0, width: MAP_W, height: MAP_H }));
      if (message) {
        map.append(svg('text', { class: 'map-empty', x: MAP_W / 2, y: MAP_H / 2, text: message }));
      }
    }

    // Equirectangular projection (x scaled by cos of the mean latitude) onto local metres, then
    // fitted into the view box with padding, aspect ratio preserved, north up.
    function makeProjection(points) {
      const meanLat = points.reduce((s, p) => s + p[0], 0) / points.length;
      const kx = Math.cos((meanLat * Math.PI) / 180) * METRES_PER_DEGREE;
      const ky = METRES_PER_DEGREE;
      let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
      for (const [lat, lon] of points) {
        const x = lon * kx;
        const y = lat * ky;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
      // At least 300 m across so a single point or a short stop is not blown up.
      const spanX = Math.max(maxX - minX, 300);
      const spanY = Math.max(maxY - minY, 300);
      const scale = Math.min((MAP_W - 2 * MAP_PAD) / spanX, (MAP_H - 2 * MAP_PAD) / spanY); // px per metre
      const cx = (minX + maxX) / 2;
      const cy = (minY + maxY) / 2;
      const project = (lat, lon) => [
        MAP_W / 2 + (lon * kx - cx) * scale,
        MAP_H / 2 - (lat * ky - cy) * scale,
      ];
      return { project, scale };
    }

    function drawOnGrid(route, points) {
      clearMap();
      const map = mapSvg();
      const { project, scale } = makeProjection(points);

      // Subtle grid for a sense of scale.
      const grid = svg('g', { class: 'map-grid', 'aria-hidden': 'true' });
      for (let x = 80; x < MAP_W; x += 80) grid.append(svg('line', { x1: x, y1: 0, x2: x, y2: MAP_H }));
      for (let y = 80; y < MAP_H; y += 80) grid.append(svg('line', { x1: 0, y1: y, x2: MAP_W, y2: y }));
      map.append(grid);

      drawRoute(map, route, project);

      renderScaleBar(map, scale);
      map.append(svg('g', { class: 'north', transform: `translate(${MAP_W - 24} 30)`, 'aria-hidden': 'true' },
        svg('path', { d: 'M0,-14 L6,4 L0,0 L-6,4 Z' }),
        svg('text', { x: 0, y: 18, text: 'N' })));
    }

    // -------------------------------------------------------------- the base map (Leaflet)

    let leaflet = null;

    // The route's SVG in Leaflet's overlay pane, over the viewport and half of it again on each
    // side, redrawn in layer pixels after every move and zoom (hidden while a zoom animates).
    function createLeaflet() {
      const L = window.L;
      const container = el('div', { id: 'route-basemap', class: 'basemap' });
      document.querySelector('.map-frame').append(container);
      // The page scrolls: the wheel scrolls it, the buttons and a double click zoom the map.
      const map = L.map(container, { scrollWheelZoom: false });
      // Leaflet takes the attribution as HTML: the server's text is shown as text.
      L.tileLayer(tiles.url, { maxZoom: 19, attribution: escapeHtml(tiles.attribution) }).addTo(map);
      L.control.scale({ imperial: false }).addTo(map);
      const RouteOverlay = L.Layer.extend({
        onAdd() {
          map.getPane('overlayPane').append(mapSvg());
          this.redraw();
        },
        onRemove() {}, // useStaticView takes the SVG back
        getEvents() {
          return { moveend: this.redraw, zoomend: this.redraw, viewreset: this.redraw, resize: this.redraw };
        },
        redraw() {
          if (!this.route) return;
          const svgNode = mapSvg();
          const size = map.getSize();
          const topLeft = map.containerPointToLayerPoint([-size.x / 2, -size.y / 2]).round();
          const [w, h] = [size.x * 2, size.y * 2];
          svgNode.classList.add('leaflet-zoom-hide');
          L.DomUtil.setPosition(svgNode, topLeft);
          svgNode.style.width = `${w}px`;
          svgNode.style.height = `${h}px`;
          svgNode.setAttribute('width', w);
          svgNode.setAttribute('height', h);
          svgNode.setAttribute('viewBox', `0 0 ${w} ${h}`);
          emptySvg(svgNode);
          drawRoute(svgNode, this.route, (lat, lon) => {
            const p = map.latLngToLayerPoint([lat, lon]);
            return [p.x - topLeft.x, p.y - topLeft.y];
          });
        },
      });
      return { container, map, overlay: new RouteOverlay() };
    }

    function drawOnBasemap(route, points) {
      if (!leaflet) leaflet = createLeaflet();
      const { container, map, overlay } = leaflet;
      container.hidden = false;
      map.invalidateSize();
      overlay.route = route;
      map.fitBounds(window.L.latLngBounds(points), { padding: [MAP_PAD, MAP_PAD], maxZoom: MAX_FIT_ZOOM, animate: false });
      if (map.hasLayer(overlay)) overlay.redraw();
      else overlay.addTo(map);
    }

    function escapeHtml(text) {
      return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    }

    // -------------------------------------------------------------- the route, on either

    const validPoint = (p) => Array.isArray(p) && isNum(p[0]) && isNum(p[1]);
    const fmtXY = ([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`;

    function renderMap(route) {
      const seq = ++drawSeq;
      configured.then(() => {
        if (seq !== drawSeq) return; // cleared or replaced meanwhile
        const segments = (route.segments || []).map((s) => ({ ...s, points: (s.points || []).filter(validPoint) }));
        const visits = route.visits || [];
        const all = [];
        for (const s of segments) all.push(...s.points);
        for (const v of visits) {
          if (isNum(v.lat) && isNum(v.lon)) all.push([v.lat, v.lon]);
          if (isNum(v.customer_lat) && isNum(v.customer_lon)) all.push([v.customer_lat, v.customer_lon]);
        }
        const valid = { ...route, segments, visits };
        if (all.length === 0) clearMap('No GPS data for this day');
        else if (tiles) drawOnBasemap(valid, all);
        else drawOnGrid(valid, all);
      });
    }

    // Draws the route into `map` (an SVG element) through `project` ([lat, lon] to [x, y]).
    function drawRoute(map, route, project) {
      const { segments, visits } = route;

      // Gaps: a faint dashed line from the end of one segment to the start of the next.
      const gapLayer = svg('g', { class: 'gaps' });
      const gaps = route.gaps || [];
      for (let i = 0; i + 1 < segments.length; i += 1) {
        const a = segments[i].points;
        const b = segments[i + 1].points;
        if (!a.length || !b.length) continue;
        const from = project(...a[a.length - 1]);
        const to = project(...b[0]);
        const gap = gaps.find((g) => g.from_at === segments[i].end_at) || gaps[i];
        const line = svg('line', { class: 'gap', x1: from[0], y1: from[1], x2: to[0], y2: to[1] });
        if (gap) {
          line.append(svg('title', {
            text: `GPS gap ${fmtTime(gap.from_at)}–${fmtTime(gap.to_at)} (${fmtDuration(gap.duration_ms)}, ${fmtDistance(gap.distance_m)})`,
          }));
        }
        gapLayer.append(line);
      }
      map.append(gapLayer);

      // Track: one polyline per segment, so gaps are never bridged by the track itself.
      const trackLayer = svg('g', { class: 'segments' });
      for (const s of segments) {
        if (!s.points.length) continue;
        const line = svg('polyline', { class: 'segment', points: s.points.map((p) => fmtXY(project(...p))).join(' ') });
        line.append(svg('title', { text: `Track ${fmtTime(s.start_at)}–${fmtTime(s.end_at)}, ${fmtDistance(s.distance_m)}` }));
        trackLayer.append(line);
      }
      map.append(trackLayer);

      // Start and end of the day's track.
      const firstSeg = segments.find((s) => s.points.length);
      const lastSeg = [...segments].reverse().find((s) => s.points.length);
      if (firstSeg) {
        const [x, y] = project(...firstSeg.points[0]);
        map.append(svg('circle', { class: 'track-start', cx: x, cy: y, r: 5 },
          svg('title', { text: `Start of track ${fmtTime(firstSeg.start_at)}` })));
        const [ex, ey] = project(...lastSeg.points[lastSeg.points.length - 1]);
        map.append(svg('rect', { class: 'track-end', x: ex - 4.5, y: ey - 4.5, width: 9, height: 9, transform: `rotate(45 ${ex} ${ey})` },
          svg('title', { text: `End of track ${fmtTime(lastSeg.end_at)}` })));
      }

      // Customers: hollow squares, with a thin line to where the rep checked in.
      const customerLayer = svg('g', { class: 'customers' });
      for (const v of visits) {
        if (!isNum(v.customer_lat) || !isNum(v.customer_lon)) continue;
        const [cx, cy] = project(v.customer_lat, v.customer_lon);
        if (isNum(v.lat) && isNum(v.lon)) {
          const [vx, vy] = project(v.lat, v.lon);
          customerLayer.append(svg('line', { class: 'customer-link', x1: cx, y1: cy, x2: vx, y2: vy }));
        }
        customerLayer.append(svg('rect', { class: 'customer', x: cx - 4, y: cy - 4, width: 8, height: 8 },
          svg('title', { text: `${customerLabel(v)} (customer location)` })));
      }
      map.append(customerLayer);

      // Visit markers, drawn in reverse so the first visit ends up on top.
      const highlighted = document.querySelector('#visits tr.highlight');
      const highlightedId = highlighted && highlighted.getAttribute('data-visit-id');
      const visitLayer = svg('g', { class: 'visits' });
      for (const v of [...visits].reverse()) {
        if (!isNum(v.lat) || !isNum(v.lon)) continue;
        const [x, y] = project(v.lat, v.lon);
        const verification = verificationOf(v);
        const classes = ['visit-marker', `verification-${verification}`];
        if (v.mock) classes.push('mock');
        if (v.stale) classes.push('stale');
        const group = svg('g', { class: 'visit', 'data-visit-id': v.visit_id, tabindex: 0 });
        if (v.mock || v.stale) group.append(svg('circle', { class: 'visit-warning', cx: x, cy: y, r: 15 }));
        group.append(svg('circle', { class: classes.join(' '), cx: x, cy: y, r: 11, 'data-visit-id': v.visit_id },
          svg('title', { text: visitTooltip(v, verification) })));
        group.append(svg('text', { class: 'visit-label', x, y, dy: '0.35em', text: v.sequence }));
        // A redraw on the base map keeps the visit picked in the table marked.
        if (highlightedId && highlightedId === v.visit_id) {
          group.classList.add('highlight');
          group.querySelector('.visit-marker').classList.add('highlight');
        }
        group.addEventListener('click', () => onVisit(v.visit_id));
        group.addEventListener('keydown', (e) => { if (e.key === 'Enter') onVisit(v.visit_id); });
        // On the base map a press on a marker picks the visit instead of starting a drag.
        group.addEventListener('mousedown', (e) => e.stopPropagation());
        visitLayer.append(group);
      }
      map.append(visitLayer);
    }

    function visitTooltip(v, verification) {
      const lines = [`${v.sequence}. ${customerLabel(v)}`];
      let times = `Check-in ${fmtTime(v.check_in_at)}`;
      if (isNum(v.check_out_at)) times += `, check-out ${fmtTime(v.check_out_at)}`;
      if (isNum(v.dwell_ms)) times += ` (${Math.round(v.dwell_ms / 60000)} min)`;
      lines.push(times);
      if (isNum(v.distance_from_customer_m)) lines.push(`${Math.round(v.distance_from_customer_m)} m from the customer`);
      if (isNum(v.accuracy_m)) lines.push(`GPS accuracy ±${Math.round(v.accuracy_m)} m`);
      lines.push(verificationLabel(v, verification));
      if (isNum(v.planned_sequence)) lines.push(`Planned as #${v.planned_sequence}`);
      if (v.mock) lines.push('Mock location reported by the device');
      if (v.stale) lines.push('Stale GPS fix');
      return lines.join('\n');
    }

    function renderScaleBar(map, pxPerMetre) {
      const steps = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000];
      const target = 140 / pxPerMetre; // about 140 px long
      let metres = steps[0];
      for (const s of steps) if (s <= target) metres = s;
      const len = metres * pxPerMetre;
      const x = 20;
      const y = MAP_H - 22;
      const label = metres >= 1000 ? `${metres / 1000} km` : `${metres} m`;
      map.append(svg('g', { class: 'scale-bar', 'aria-label': `Scale: ${label}` },
        svg('rect', { class: 'scale-bg', x: x - 8, y: y - 22, width: len + 16, height: 34, rx: 4 }),
        svg('path', { d: `M${x},${y - 5} V${y} H${x + len} V${y - 5}` }),
        svg('text', { x: x + len / 2, y: y - 9, text: label })));
    }

    return { clearMap, renderMap };
  },
};
