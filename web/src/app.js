// The page of `whyline serve`: the map coloured by status, the why of a
// clicked metric highlighted on the map with plots of its path, and the
// weekly review. Everything comes from the JSON API at /api/; every text from
// the catalog is inserted as text, never as HTML.
'use strict';

(function () {
  const POLL_MS = 15000;
  const LAYERS = ['business', 'service', 'system'];
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const STATUS_COLOURS = { red: '#cf222e', amber: '#bf8700', green: '#1a7f37', unknown: '#8c959f' };

  const state = {
    catalog: null, // /api/catalog
    status: null, // /api/status
    statusById: new Map(),
    metricById: new Map(),
    cy: null,
    selected: null,
    plots: [],
  };

  const $ = (id) => document.getElementById(id);

  /** Builds an element; strings become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // ---- the token: from #token=... once, then this tab's session storage ----
  function token() {
    const hash = new URLSearchParams(location.hash.slice(1));
    if (hash.has('token')) {
      sessionStorage.setItem('whyline-token', hash.get('token'));
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem('whyline-token');
  }

  /** GETs a route of the API; never throws. */
  async function api(path) {
    const headers = { Accept: 'application/json' };
    const t = token();
    if (t) headers.Authorization = 'Bearer ' + t;
    try {
      const response = await fetch(path, { headers, cache: 'no-store' });
      let body = null;
      try {
        body = await response.json();
      } catch (_) {
        body = { error: 'the server answered ' + response.status + ' without JSON' };
      }
      if (response.status === 401) askForToken();
      return { ok: response.ok, status: response.status, body };
    } catch (e) {
      return { ok: false, status: 0, body: { error: 'the server cannot be reached (' + e.message + ')' } };
    }
  }

  function askForToken() {
    $('token-form').hidden = false;
  }

  function banner(text) {
    const b = $('banner');
    b.textContent = text || '';
    b.hidden = !text;
  }

  // ---- formatting ----
  // `d` decimals as Rust's `{:.d}` writes them (the CLI): the exact binary
  // value rounded, exact ties to even, where toFixed rounds ties up.
  function fixed(v, d) {
    const m = v * 2 ** (d + 1); // exact: a power of two
    const five = 5 ** d;
    if (Number.isInteger(m) && Math.abs(m) % 2 === 1 && Math.abs(m) % five === 0) {
      const k = Math.floor(m / five / 2); // v * 10^d = k + 0.5
      const even = k % 2 === 0 ? k : k + 1;
      return (even / 10 ** d).toFixed(d);
    }
    return v.toFixed(d);
  }
  function num(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
    const a = Math.abs(v);
    // The CLI's rounding (crates/whyline/src/why.rs `number`): half away
    // from zero, and no sign on a value that rounds to zero.
    if (a >= 1e15) return v.toExponential(2).replace('e+', 'e');
    if (a >= 100) return (v < 0 ? '-' : '') + Math.round(a).toLocaleString('en-US');
    if (a >= 1) return fixed(v, 1);
    const t = fixed(v, 3);
    return t === '-0.000' ? '0.000' : t;
  }
  // Rust's `{:+.d}`: always a sign (`-0` for a negative zero), ties to even;
  // `{:+.1e}` past `expAt` (the CLI's scientific notation for huge moves).
  function signed(v, d, expAt) {
    const sign = v < 0 || Object.is(v, -0) ? '-' : '+';
    const a = Math.abs(v);
    if (expAt !== undefined && a >= expAt) return sign + a.toExponential(1).replace('e+', 'e');
    return sign + fixed(a, d);
  }
  function pct(v) {
    return v === null || v === undefined || !Number.isFinite(v) ? '' : signed(v * 100, 0, 1e4) + '%';
  }
  // A share as the CLI writes it (`{:.0}%` of share x 100).
  function share(v) {
    return fixed(v * 100, 0) + '%';
  }
  // A tick of a time axis in seconds as the 24-hour UTC time the answer
  // uses ("23:00"), with the day at midnight ("3 Mar").
  function clock(seconds) {
    const d = new Date(seconds * 1000);
    const t = d.toISOString().slice(11, 16);
    return t === '00:00' ? d.getUTCDate() + ' ' + MONTHS[d.getUTCMonth()] : t;
  }
  function hhmm(iso) {
    return iso ? iso.slice(11, 16) + ' UTC' : '';
  }
  function statusPill(status) {
    return el('span', { class: 'status ' + status }, status === 'unknown' ? 'no data' : status);
  }

  // ---- the map ----
  /** Maps past this many metrics open collapsed by service and layer. */
  const BIG = 300;
  function isBig() {
    return state.catalog.metrics.length > BIG;
  }

  /** The groups of a large map: one per service and layer, with its members. */
  function groupsOf(metrics) {
    const groups = new Map();
    state.groupOf = new Map();
    for (const m of metrics) {
      const key = (m.service || 'no service') + ' · ' + m.layer;
      if (!groups.has(key)) groups.set(key, { key, id: 'group:' + key, layer: m.layer, members: [] });
      groups.get(key).members.push(m.id);
      state.groupOf.set(m.id, key);
    }
    return groups;
  }

  /** Where a metric is drawn now: itself when its group is open, else its group. */
  function unitOf(id) {
    const key = state.groupOf.get(id);
    return state.open.has(key) ? id : 'group:' + key;
  }

  const CELL_W = 170;
  const CELL_H = 56;
  const SHELF_W = 1400; // a shelf of groups wraps past this width
  const GROUP_GAP = 40;
  const SHELF_GAP = 110;

  /** The grid an open group's members fill: wider than tall. */
  function gridOf(n) {
    const cols = Math.max(1, Math.ceil(Math.sqrt(n * 2.5)));
    return { cols, rows: Math.ceil(n / cols) };
  }

  /** Draws a large map as it is opened: closed groups as one box each, open
   *  ones as a frame around their metrics; edges between what is drawn,
   *  those between groups summed (the count drives the line's width). */
  function renderBig() {
    const cy = state.cy;
    const metrics = state.catalog.metrics;
    const want = new Map();
    for (const g of state.groups.values()) {
      const open = state.open.has(g.key);
      const label = g.key + (open ? '' : ' (' + g.members.length + ')');
      want.set(g.id, { data: { id: g.id, label, kind: 'group', group: g.key, layer: g.layer, w: labelWidth(label, true) + 24 } });
      if (open) {
        for (const id of g.members) {
          const m = state.metricById.get(id);
          want.set(id, { data: { id, label: id, layer: m.layer, parent: g.id } });
        }
      }
    }
    const edges = new Map();
    for (const m of metrics) {
      for (const d of m.drivers) {
        if (!state.groupOf.has(d.metric)) continue;
        const u = unitOf(d.metric);
        const v = unitOf(m.id);
        if (u === v) continue;
        if (u === d.metric && v === m.id) {
          edges.set(u + '->' + v, { data: { id: u + '->' + v, source: u, target: v, effect: d.effect } });
        } else {
          const id = 'agg:' + u + '->' + v;
          const e = edges.get(id) || { data: { id, source: u, target: v, count: 0 }, classes: 'aggregate' };
          e.data.count += 1;
          edges.set(id, e);
        }
      }
    }
    // Shelves by layer, business on top: a row of groups per layer (wrapped
    // when long), ordered by service; an open group takes its grid's room.
    const place = new Map();
    let top = 0;
    for (const layer of LAYERS) {
      const row = [...state.groups.values()].filter((grp) => grp.layer === layer).sort((a, b) => a.key.localeCompare(b.key));
      const sized = row.map((grp) => {
        const open = state.open.has(grp.key);
        const grid = open ? gridOf(grp.members.length) : null;
        return { grp, grid, w: open ? grid.cols * CELL_W : want.get(grp.id).data.w, h: open ? grid.rows * CELL_H + 30 : 30 };
      });
      const shelves = [];
      for (const item of sized) {
        const shelf = shelves[shelves.length - 1];
        if (!shelf || (shelf.width + item.w > SHELF_W && shelf.items.length)) shelves.push({ items: [item], width: item.w });
        else { shelf.items.push(item); shelf.width += GROUP_GAP + item.w; }
      }
      for (const shelf of shelves) {
        const height = Math.max(...shelf.items.map((i) => i.h));
        let x = -shelf.width / 2;
        for (const item of shelf.items) {
          const cx = x + item.w / 2;
          const cy0 = top + height / 2;
          x += item.w + GROUP_GAP;
          if (!item.grid) {
            place.set(item.grp.id, { x: cx, y: cy0 });
            continue;
          }
          const { cols, rows } = item.grid;
          [...item.grp.members].sort().forEach((id, i) => {
            const col = i % cols;
            const r = Math.floor(i / cols);
            place.set(id, { x: cx + (col - (cols - 1) / 2) * CELL_W, y: cy0 + 15 + (r - (rows - 1) / 2) * CELL_H });
          });
        }
        top += height + SHELF_GAP;
      }
    }
    for (const e of edges.values()) {
      const a = state.metricById.get(e.data.source) || state.groups.get(e.data.source.slice('group:'.length));
      const b = state.metricById.get(e.data.target) || state.groups.get(e.data.target.slice('group:'.length));
      // Between two groups of one shelf: an arc over the boxes between them.
      if (e.classes === 'aggregate' && a && b && a.layer === b.layer) e.classes = 'aggregate arc';
    }
    cy.batch(() => {
      cy.edges().remove();
      // Members of a closed group go first, then what is no longer wanted.
      cy.nodes().filter((n) => !want.has(n.id())).remove();
      for (const [id, el] of want) {
        const have = cy.getElementById(id);
        if (have.empty()) {
          cy.add({ group: 'nodes', data: el.data, position: place.get(id) || { x: 0, y: 0 } });
        } else {
          have.data('label', el.data.label);
          have.data('w', el.data.w);
          if (place.has(id)) have.position(place.get(id));
        }
      }
      cy.add([...edges.values()].map((e) => ({ group: 'edges', ...e })));
    });
    paintStatuses();
    applyFilters();
  }

  /** Opens (or closes) one group of a large map. */
  function toggleGroup(key) {
    if (state.open.has(key)) state.open.delete(key);
    else state.open.add(key);
    renderBig();
    const grp = state.groups.get(key);
    if (state.open.has(key)) state.cy.fit(state.cy.getElementById(grp.id), 40);
  }

  /** Opens the groups of a large map that hold these metrics. */
  function showMetrics(ids) {
    if (!state.cy || !isBig()) return;
    const closed = ids.map((id) => state.groupOf.get(id)).filter((k) => k && !state.open.has(k));
    if (!closed.length) return;
    for (const k of closed) state.open.add(k);
    renderBig();
  }

  const LABEL_PX = 12; // the map's label size at zoom 1
  const MIN_LABEL_PX = 11; // never shown smaller at the default view
  const BOX_H = 26;

  /** The width of a label in the map's font, for the layout's boxes. */
  function labelWidth(text, bold) {
    const ctx = labelWidth.ctx || (labelWidth.ctx = document.createElement('canvas').getContext('2d'));
    ctx.font = (bold ? 'bold ' : '') + LABEL_PX + 'px system-ui, -apple-system, "Segoe UI", sans-serif';
    return Math.ceil(ctx.measureText(text).width);
  }

  /** A layered drawing by dagre (Gansner et al., "A technique for drawing
   *  directed graphs", IEEE TSE 1993): drivers below what they drive, business
   *  on top, every node a box sized to its label. Edges are drawn
   *  orthogonally along dagre's bends: up from the driver, across in the gap
   *  between two ranks (where no box is), up through a rank only at the slot
   *  dagre kept free for the edge, and into the dependant from below, so no
   *  edge runs through a box. */
  function layered(metrics, ids) {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: 'BT', nodesep: 28, ranksep: 64, edgesep: 14, marginx: 20, marginy: 20 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const m of metrics) {
      g.setNode(m.id, { width: labelWidth(m.id, m.layer === 'business') + 20, height: BOX_H });
    }
    for (const m of metrics) {
      for (const d of m.drivers) if (ids.has(d.metric) && d.metric !== m.id) g.setEdge(d.metric, m.id);
    }
    dagre.layout(g);
    const pos = {};
    for (const id of g.nodes()) {
      const n = g.node(id);
      pos[id] = { x: n.x, y: n.y, w: n.width };
    }
    // dagre doubles every edge's length to leave room for labels, so an
    // edge's inner points alternate: a gap between ranks (even index), then
    // a free slot in a rank (odd index), ..., ending in a gap.
    const edges = g.edges().map((e) => ({ v: e.v, w: e.w, inner: g.edge(e).points.slice(1, -1) }));
    // Edges leaving one box (entering one box) spread along its top (bottom)
    // edge, ordered by where they go, so arrows do not pile up.
    const spread = (key, other) => {
      const groups = new Map();
      for (const e of edges) {
        const k = e[key];
        if (!groups.has(k)) groups.set(k, []);
        groups.get(k).push(e);
      }
      const off = new Map();
      for (const [k, list] of groups) {
        list.sort((a, b) => other(a) - other(b));
        const step = Math.min(12, (pos[k].w - 16) / list.length);
        list.forEach((e, i) => off.set(e, (i - (list.length - 1) / 2) * step));
      }
      return off;
    };
    const firstX = (e) => (e.inner.length ? e.inner[0].x : pos[e.w].x);
    const lastX = (e) => (e.inner.length ? e.inner[e.inner.length - 1].x : pos[e.v].x);
    const out = spread('v', firstX);
    const into = spread('w', lastX);
    // Horizontal runs sharing a gap get their own heights in it, ordered by x.
    const runs = new Map();
    for (const e of edges) {
      e.inner.forEach((p, i) => {
        if (i % 2) return;
        const k = Math.round(p.y);
        if (!runs.has(k)) runs.set(k, []);
        runs.get(k).push({ e, i, x: p.x });
      });
    }
    const height = new Map();
    for (const [y, list] of runs) {
      list.sort((a, b) => a.x - b.x);
      const step = Math.min(6, 44 / list.length);
      list.forEach((r, j) => height.set(r.e.v + '->' + r.e.w + '#' + r.i, y + (j - (list.length - 1) / 2) * step));
    }
    const routes = new Map();
    for (const e of edges) {
      const id = e.v + '->' + e.w;
      const sx = pos[e.v].x + out.get(e);
      const tx = pos[e.w].x + into.get(e);
      const bends = [];
      let x = sx;
      e.inner.forEach((p, i) => {
        if (i % 2) {
          x = p.x; // a free slot in a rank: the vertical leg's x
          return;
        }
        const y = height.get(id + '#' + i);
        const next = i + 1 < e.inner.length ? e.inner[i + 1].x : tx;
        bends.push({ x, y }, { x: next, y });
      });
      // Up from the driver's top into the dependant's bottom; an edge of a
      // feedback loop, which dagre turns to point down, the other way round.
      const up = pos[e.v].y >= pos[e.w].y ? 1 : -1;
      routes.set(id, {
        bends,
        source: (sx - pos[e.v].x).toFixed(1) + 'px ' + (-up * BOX_H / 2) + 'px',
        target: (tx - pos[e.w].x).toFixed(1) + 'px ' + (up * BOX_H / 2) + 'px',
      });
    }
    return { pos, routes };
  }

  /** Cytoscape's `segments` edge as (weight along source→target, distance
   *  perpendicular to it) for each bend point, from node centre to centre. */
  function segmentsOf(src, tgt, bends) {
    const dx = tgt.x - src.x;
    const dy = tgt.y - src.y;
    const len2 = dx * dx + dy * dy;
    if (!bends.length || len2 === 0) return null;
    const len = Math.sqrt(len2);
    const weights = [];
    const distances = [];
    for (const p of bends) {
      const px = p.x - src.x;
      const py = p.y - src.y;
      weights.push((px * dx + py * dy) / len2);
      distances.push((dx * py - dy * px) / len);
    }
    return { weights: weights.map((w) => w.toFixed(4)).join(' '), distances: distances.map((d) => d.toFixed(2)).join(' ') };
  }

  /** The first view: the neighbourhood of the asked metric (the linked one,
   *  else the first red business metric, else the first business metric) at
   *  a zoom where every label is at least MIN_LABEL_PX; the whole map when it
   *  fits at that zoom. */
  function frame(cy, focus) {
    const minZoom = MIN_LABEL_PX / LABEL_PX;
    cy.fit(cy.nodes(), 24);
    if (cy.zoom() >= minZoom) {
      if (cy.zoom() > 1.4) cy.zoom({ level: 1.4, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
      return;
    }
    const node = focus && cy.getElementById(focus);
    if (!node || node.empty()) {
      cy.zoom(minZoom);
      cy.center();
      return;
    }
    // The metric with two steps of its drivers (below it) and what it drives.
    const drivers = node.incomers().nodes();
    const near = node.union(drivers).union(drivers.incomers().nodes()).union(node.outgoers().nodes());
    cy.fit(near, 40);
    if (cy.zoom() < minZoom) {
      // Readable first: the metric at the top middle, its drivers below.
      cy.zoom(minZoom);
      const p = node.position();
      const box = near.boundingBox();
      const top = Math.min(p.y - BOX_H, box.y1);
      // Centred on the neighbourhood as far as the metric itself stays in view.
      const half = (cy.width() / 2 - 40) / minZoom - node.width() / 2;
      const cx = Math.min(p.x + half, Math.max(p.x - half, (box.x1 + box.x2) / 2));
      cy.pan({ x: cy.width() / 2 - cx * minZoom, y: 40 - top * minZoom });
    }
  }

  function focusOfStart() {
    if (linkedMetric && state.metricById.has(linkedMetric)) return linkedMetric;
    const business = state.catalog.metrics.filter((m) => m.layer === 'business');
    const red = business.find((m) => statusOf(m.id) === 'red');
    return (red || business[0] || state.catalog.metrics[0] || {}).id;
  }

  function buildGraph() {
    const metrics = state.catalog.metrics;
    const big = isBig();
    const ids = new Set(metrics.map((m) => m.id));
    // A large map opens collapsed by service and layer (renderBig); a small
    // one is laid out whole.
    const { pos, routes } = big ? { pos: {}, routes: new Map() } : layered(metrics, ids);
    const elements = [];
    if (big) {
      state.groups = groupsOf(metrics);
      state.open = new Set();
    }
    for (const m of big ? [] : metrics) {
      elements.push({
        group: 'nodes',
        data: { id: m.id, label: m.id, layer: m.layer, w: pos[m.id].w || 18 },
        position: { x: pos[m.id].x, y: pos[m.id].y },
        classes: 'st-' + statusOf(m.id),
      });
    }
    for (const m of big ? [] : metrics) {
      for (const d of m.drivers) {
        if (!ids.has(d.metric)) continue;
        const id = d.metric + '->' + m.id;
        const r = routes.get(id);
        const route = r ? segmentsOf(pos[d.metric], pos[m.id], r.bends) : null;
        elements.push({
          group: 'edges',
          data: route
            ? { id, source: d.metric, target: m.id, effect: d.effect, weights: route.weights, distances: route.distances,
              from: r.source, to: r.target }
            : { id, source: d.metric, target: m.id, effect: d.effect },
          classes: route ? 'routed' : '',
        });
      }
    }
    if (state.cy) state.cy.destroy();
    state.framed = false;
    const cy = cytoscape({
      container: $('graph'),
      elements,
      layout: { name: 'preset', fit: false },
      minZoom: 0.02,
      maxZoom: 3,
      textureOnViewport: big,
      hideEdgesOnViewport: big,
      pixelRatio: big ? 1 : 'auto',
      style: [
        ...(big ? [
          { selector: 'node', style: {
            'background-color': STATUS_COLOURS.unknown, label: 'data(label)', 'font-size': 11,
            'text-valign': 'bottom', 'text-margin-y': 3, width: 18, height: 18,
            'min-zoomed-font-size': 8, color: '#1f2328' } },
          { selector: 'node[layer = "business"]', style: { shape: 'round-rectangle', width: 30, height: 22, 'font-weight': 'bold' } },
          { selector: 'node[layer = "system"]', style: { shape: 'diamond' } },
          { selector: 'node.st-red', style: { 'background-color': STATUS_COLOURS.red } },
          { selector: 'node.st-amber', style: { 'background-color': STATUS_COLOURS.amber } },
          { selector: 'node.st-green', style: { 'background-color': STATUS_COLOURS.green } },
          // A service's metrics of one layer, collapsed into one box until opened.
          { selector: 'node[kind = "group"]', style: {
            shape: 'round-rectangle', width: 'data(w)', height: 30, 'font-size': LABEL_PX, 'font-weight': 'bold',
            'text-valign': 'center', 'text-halign': 'center', 'min-zoomed-font-size': 0,
            'background-color': '#f6f8fa', 'border-width': 2, 'border-color': STATUS_COLOURS.unknown } },
          { selector: 'node[kind = "group"].st-red', style: { 'background-color': '#ffebe9', 'border-color': STATUS_COLOURS.red } },
          { selector: 'node[kind = "group"].st-amber', style: { 'background-color': '#fff8c5', 'border-color': STATUS_COLOURS.amber } },
          { selector: 'node[kind = "group"].st-green', style: { 'background-color': '#dafbe1', 'border-color': STATUS_COLOURS.green } },
          { selector: 'node[kind = "group"]:parent', style: {
            'text-valign': 'top', 'text-margin-y': -4, 'background-opacity': 0.35, 'border-style': 'dashed', padding: 16 } },
          { selector: 'edge.aggregate', style: { 'curve-style': 'straight', width: 'mapData(count, 1, 50, 1.5, 6)', 'arrow-scale': 1 } },
          { selector: 'edge.arc', style: { 'curve-style': 'unbundled-bezier', 'control-point-distances': 50, 'control-point-weights': 0.5 } },
        ] : [
          // A box per metric with its id inside, the status as the box's
          // colour (a light fill and a strong border, so the text stays legible).
          { selector: 'node', style: {
            shape: 'round-rectangle', width: 'data(w)', height: BOX_H, label: 'data(label)',
            'font-size': LABEL_PX, 'font-family': 'system-ui, -apple-system, "Segoe UI", sans-serif',
            'text-valign': 'center', 'text-halign': 'center', color: '#1f2328',
            'background-color': '#f6f8fa', 'border-width': 2, 'border-color': STATUS_COLOURS.unknown } },
          { selector: 'node[layer = "business"]', style: { 'font-weight': 'bold', 'border-width': 3 } },
          { selector: 'node[layer = "system"]', style: { shape: 'cut-rectangle' } },
          { selector: 'node.st-red', style: { 'background-color': '#ffebe9', 'border-color': STATUS_COLOURS.red } },
          { selector: 'node.st-amber', style: { 'background-color': '#fff8c5', 'border-color': STATUS_COLOURS.amber } },
          { selector: 'node.st-green', style: { 'background-color': '#dafbe1', 'border-color': STATUS_COLOURS.green } },
        ]),
        { selector: 'node.stale', style: { 'border-style': 'dashed' } },
        { selector: 'edge', style: {
          width: 1.2, 'line-color': '#8c959f', 'target-arrow-shape': 'triangle',
          'target-arrow-color': '#8c959f', 'curve-style': big ? 'haystack' : 'straight', 'arrow-scale': 0.8 } },
        { selector: 'edge.routed', style: {
          'curve-style': 'segments', 'segment-weights': 'data(weights)', 'segment-distances': 'data(distances)',
          'edge-distances': 'node-position', 'source-endpoint': 'data(from)', 'target-endpoint': 'data(to)' } },
        { selector: 'edge[effect = "decreases"]', style: { 'line-style': 'dashed' } },
        { selector: '.faded', style: { opacity: 0.15 } },
        { selector: 'node.on-path', style: { 'border-width': 4, 'border-color': '#0969da', 'z-index': 10, 'font-weight': 'bold' } },
        { selector: 'edge.on-path', style: { width: 4, 'line-color': '#0969da', 'target-arrow-color': '#0969da', 'z-index': 10, 'target-arrow-shape': 'triangle' } },
        { selector: 'edge.on-path[!weights]', style: { 'curve-style': 'straight' } },
        { selector: 'edge.unmapped', style: { 'line-color': STATUS_COLOURS.amber, 'target-arrow-color': STATUS_COLOURS.amber, 'line-style': 'dotted' } },
        { selector: 'node.root', style: { 'border-color': STATUS_COLOURS.red, 'border-width': 5 } },
        { selector: '.filtered-out', style: { display: 'none' } },
      ],
    });
    cy.on('tap', 'node', (evt) => {
      const n = evt.target;
      // A collapsed group opens; an open one's frame closes it.
      if (n.data('kind') === 'group') toggleGroup(n.data('group'));
      else select(n.id());
    });
    cy.on('zoom', readablePath);
    cy.on('tap', (evt) => {
      if (evt.target === cy) clearHighlight();
    });
    state.cy = cy;
    window.whyline = { cy, select, plots: () => state.plots, groupOf: (id) => state.groupOf && state.groupOf.get(id) };
    applyFilters();
    if (big) renderBig();
    cy.ready(() => {
      if (big) {
        cy.fit(cy.nodes(), 30);
        if (cy.zoom() > 1.4) cy.zoom({ level: 1.4, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
      } else {
        frame(cy, focusOfStart());
      }
      document.body.dataset.ready = 'map';
    });
  }

  function statusOf(id) {
    const s = state.statusById.get(id);
    return s ? s.status : 'unknown';
  }

  function paintStatuses() {
    if (!state.cy) return;
    // A group shows the worst of its members: red, amber, else green when
    // any member was judged, else unknown.
    const worst = (members) => {
      const seen = new Set(members.map(statusOf));
      return ['red', 'amber', 'green'].find((x) => seen.has(x)) || 'unknown';
    };
    state.cy.batch(() => {
      state.cy.nodes().forEach((n) => {
        if (n.data('kind') === 'group') {
          n.removeClass('st-red st-amber st-green st-unknown stale');
          n.addClass('st-' + worst(state.groups.get(n.data('group')).members));
          return;
        }
        const s = state.statusById.get(n.id());
        n.removeClass('st-red st-amber st-green st-unknown stale');
        n.addClass('st-' + (s ? s.status : 'unknown'));
        if (s && (s.stale || s.missing)) n.addClass('stale');
      });
    });
  }

  function clearHighlight() {
    if (!state.cy) return;
    state.cy.batch(() => {
      state.cy.elements().removeClass('faded on-path root');
      state.cy.nodes('.grown').removeStyle('font-size width height').removeClass('grown');
      state.cy.remove('edge.unmapped');
    });
  }

  function highlight(path, root, unmapped) {
    const cy = state.cy;
    if (!cy) return;
    cy.batch(() => {
      cy.elements().removeClass('faded on-path root');
      cy.remove('edge.unmapped');
      for (const e of unmapped) {
        if (cy.getElementById(e.from).nonempty() && cy.getElementById(e.to).nonempty()) {
          cy.add({ group: 'edges', data: { id: 'unmapped:' + e.from + '->' + e.to, source: e.from, target: e.to }, classes: 'unmapped' });
        }
      }
      let on = cy.collection();
      path.forEach((id, i) => {
        on = on.union(cy.getElementById(id));
        if (i > 0) {
          on = on.union(cy.getElementById(id + '->' + path[i - 1]));
          on = on.union(cy.getElementById('unmapped:' + id + '->' + path[i - 1]));
        }
      });
      cy.elements().not(on).addClass('faded');
      on.addClass('on-path');
      if (root) cy.getElementById(root).addClass('root');
    });
    // Keep the whole path in view: on a large map it is a speck at full
    // view, and on any map part of it may be scrolled away.
    const onPath = cy.$('node.on-path');
    const ext = cy.extent();
    // A node near the edge has its label cut: keep a margin.
    const mx = ext.w * 0.08;
    const my = ext.h * 0.08;
    const hidden = onPath.some((n) => {
      const p = n.position();
      return p.x < ext.x1 + mx || p.x > ext.x2 - mx || p.y < ext.y1 + my || p.y > ext.y2 - my;
    });
    if (isBig() || hidden) {
      // The whole path in view, however wide the map; its own labels are
      // kept readable at that zoom (readablePath).
      cy.fit(onPath, 60);
      if (cy.zoom() > 1.4) cy.zoom({ level: 1.4, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
    }
    readablePath();
  }

  /** The path's labels at least MIN_LABEL_PX on screen at any zoom: below
   *  the zoom where the map's own labels are that size, the path's boxes
   *  and labels grow (a style bypass), the rest of the map stays as drawn. */
  function readablePath() {
    const cy = state.cy;
    if (!cy) return;
    const wanted = Math.max(LABEL_PX, MIN_LABEL_PX / cy.zoom());
    // A small map's boxes grow with their labels, so only so far.
    const size = isBig() ? wanted : Math.min(24, wanted);
    cy.batch(() => {
      cy.nodes('.grown').not('.on-path').removeStyle('font-size width height').removeClass('grown');
      cy.nodes('.on-path').forEach((n) => {
        n.addClass('grown');
        n.style({
          'font-size': size,
          // Boxes of a small map grow with their label; a large map's marks
          // keep their size, their labels (below them) grow.
          ...(n.data('w') ? { width: Math.round(n.data('w') * size / LABEL_PX), height: Math.max(BOX_H, Math.round(size + 12)) } : {}),
        });
      });
    });
  }

  // ---- filters and search ----
  function fillFilters() {
    const metrics = state.catalog.metrics;
    const fill = (select, values) => {
      const current = select.value;
      select.replaceChildren(el('option', { value: '' }, 'all'),
        ...[...new Set(values.filter(Boolean))].sort().map((v) => el('option', { value: v }, v)));
      select.value = current;
    };
    fill($('filter-team'), metrics.map((m) => m.owner));
    fill($('filter-service'), metrics.map((m) => m.service));
    fill($('filter-verdict'), metrics.map((m) => m.verdict));
    $('metric-ids').replaceChildren(...metrics.map((m) => el('option', { value: m.id }, m.name)));
  }

  function applyFilters() {
    if (!state.cy) return;
    const team = $('filter-team').value;
    const service = $('filter-service').value;
    const verdict = $('filter-verdict').value;
    state.cy.batch(() => {
      const keeps = (m) => m && (!team || m.owner === team) && (!service || m.service === service) && (!verdict || m.verdict === verdict);
      state.cy.nodes().forEach((n) => {
        const keep = n.data('kind') === 'group'
          ? state.groups.get(n.data('group')).members.some((id) => keeps(state.metricById.get(id)))
          : keeps(state.metricById.get(n.id()));
        n.toggleClass('filtered-out', !keep);
      });
    });
  }

  function find(text) {
    const q = text.trim().toLowerCase();
    if (!q) return null;
    const metrics = state.catalog.metrics;
    return (metrics.find((m) => m.id.toLowerCase() === q) ||
      metrics.find((m) => m.name.toLowerCase() === q) ||
      metrics.find((m) => m.id.toLowerCase().startsWith(q)) ||
      metrics.find((m) => m.id.toLowerCase().includes(q) || m.name.toLowerCase().includes(q)) || null);
  }

  // ---- the red list ----
  function renderRedList() {
    const list = $('red-list');
    const red = state.catalog.metrics
      .filter((m) => ['red', 'amber'].includes(statusOf(m.id)))
      .sort((a, b) => LAYERS.indexOf(a.layer) - LAYERS.indexOf(b.layer) || a.id.localeCompare(b.id));
    if (!red.length) {
      // "Nothing is red" only of what could be judged.
      const all = state.catalog.metrics.length;
      const unknown = state.catalog.metrics.filter((m) => !['red', 'amber', 'green'].includes(statusOf(m.id))).length;
      const text = unknown === 0 ? 'Nothing is red.'
        : unknown === all ? 'Every status is unknown: no metric could be read, so nothing can be called red or green.'
          : 'Nothing is red or amber among the ' + (all - unknown) + ' metrics read; ' + unknown + ' unknown.';
      list.replaceChildren(el('li', { class: 'hint', dataset: { unknown: String(unknown) } }, text));
      return;
    }
    list.replaceChildren(...red.map((m) => el('li', {},
      statusPill(statusOf(m.id)), ' ',
      el('button', { type: 'button', dataset: { metric: m.id }, onclick: () => select(m.id) }, m.id),
      ' ', el('span', { class: 'meta' }, m.layer + (m.owner ? ' · ' + m.owner : '')))));
  }

  // ---- the why panel ----
  function describe(change, unit) {
    if (!change) return '';
    const u = unit ? ' ' + unit : '';
    const sigma = Number.isFinite(change.sigma) ? ', ' + signed(change.sigma, 1, 1e4) + ' σ' : '';
    return num(change.observed) + u + ' vs ' + num(change.baseline) + ' (' + pct(change.relative) + sigma + ')';
  }

  function moveOf(why, id) {
    if (id === why.metric) return why.change;
    const cause = why.causes.find((c) => c.metric === id);
    if (cause) return cause.change;
    const s = state.statusById.get(id);
    return s && s.value !== null ? { observed: s.value, baseline: NaN, relative: s.relative, sigma: s.sigma } : null;
  }

  async function select(id) {
    state.selected = id;
    const m = state.metricById.get(id);
    const detail = $('detail');
    delete detail.dataset.ready;
    detail.replaceChildren(el('p', { class: 'hint' }, 'Asking why ' + id + ' moved…'));
    showMetrics([id]);
    if (state.cy) state.cy.getElementById(id).select();
    const r = await api('/api/why/' + encodeURIComponent(id));
    if (state.selected !== id) return;
    if (!r.ok) {
      detail.replaceChildren(el('h3', {}, id), el('p', { class: 'owed' }, r.body.error || 'error ' + r.status));
      detail.dataset.ready = id;
      return;
    }
    const why = r.body;
    const owner = (x) => (state.metricById.get(x) || {}).owner || 'no owner';
    const parts = [
      el('h3', {}, m ? m.name : id, ' ', statusPill(why.status)),
      el('p', { class: 'meta' }, why.reason, ' · at ', why.at),
      m && m.description ? el('p', { class: 'meta' }, m.description) : null,
      m ? el('p', { class: 'meta' }, 'owner ', owner(id), m.service ? ' · service ' + m.service : '',
        ' · ', el('span', { class: 'verdict' }, m.verdict)) : null,
      m && m.decision ? el('p', { class: 'meta' }, 'Decision: ', m.decision, m.audience.length ? ' (for ' + m.audience.join(', ') + ')' : '') : null,
      why.change ? el('p', {}, describe(why.change, m && m.unit)) : null,
    ];
    let path = [id];
    let root = null;
    const top = why.causes[0];
    if (!['red', 'amber'].includes(why.status) && !top) {
      parts.push(el('p', {}, 'Not red, and nothing below it moved beyond its normal noise: nothing to explain.'));
    } else if (!top) {
      parts.push(el('p', { class: 'owed' }, 'No cause could be analysed: see what is missing below.'));
    } else if (top.metric === id) {
      const drivers = m ? m.drivers.length : 0;
      parts.push(el('p', { class: 'owed' },
        'The map ends at ' + id + ': ' + (drivers ? 'none of its ' + drivers + ' drivers explains' : 'it has no mapped drivers, so nothing explains') +
        ' the move (unexplained ' + share(why.unexplained) + '). Mapping work owed by ' + owner(id) + '.'));
      root = id;
      if (why.lead) {
        // The data's lead (cli.md, `lead`): where to look first, through an
        // edge the catalog does not have; never the answer itself.
        path = why.lead.path;
        root = why.lead.metric;
        parts.push(el('p', { class: 'lead', id: 'why-lead' }, 'Lead, suggested by the data (not in the map): ',
          el('strong', {}, why.lead.metric), ' via ', why.lead.path.join(' ← '),
          ' (owner ', owner(why.lead.metric), ')'));
      }
    } else {
      path = top.path;
      root = top.metric;
      parts.push(el('h2', {}, 'Why'));
      // As the CLI: each metric's own part of the asked metric's move (the
      // parts add up to 100% with what the map leaves unexplained).
      parts.push(el('p', {}, 'Most likely root cause: ', el('strong', {}, top.metric),
        ' (its own move accounts for ~' + share(top.own_share) + ' of the move; unexplained ' + share(why.unexplained) + ')'));
      const ownShare = (x) => { const c = why.causes.find((c) => c.metric === x); return c ? c.own_share : NaN; };
      parts.push(el('ol', { class: 'why-path', id: 'why-path' }, ...top.path.map((x, i) => {
        const unmapped = i > 0 && why.unmapped_edges.some((e) => e.from === x && e.to === top.path[i - 1]);
        return el('li', { dataset: { metric: x } },
          i > 0 ? '← ' : '', el('span', { class: 'metric-id' }, x), ' ',
          statusPill(statusOf(x)), ' ', describe(moveOf(why, x), (state.metricById.get(x) || {}).unit),
          ' · owner ', owner(x),
          x === top.metric ? el('span', { class: 'root' }, ' ROOT CAUSE' + (top.since ? ' since ' + hhmm(top.since) : '')) : null,
          x === top.metric
            ? el('span', { class: 'share' }, ' · its own move ~' + share(top.own_share) + ' of the move')
            : i > 0 && Number.isFinite(ownShare(x)) && ownShare(x) >= 0.005
              ? el('span', { class: 'share' }, ' · own part ~' + share(ownShare(x)))
              : null,
          unmapped ? el('span', { class: 'unmapped' }, ' [edge not in the map]') : null);
      })));
    }
    if (why.unmapped_edges.length) {
      parts.push(el('h2', {}, 'Mapping work owed'));
      parts.push(el('ul', {}, ...why.unmapped_edges.map((e) =>
        el('li', {}, e.from + ' ' + e.effect + ' ' + e.to + ' (lag ' + e.lag + ', normal-time correlation ' + fixed(e.strength, 2) + '; suggested by the data, not in the map)'))));
    }
    if (why.causes.length > 1) {
      parts.push(el('h2', {}, 'Other candidates'));
      parts.push(el('ul', {}, ...why.causes.slice(1).map((c) =>
        el('li', {}, fixed(c.score, 2) + '  ' + c.path.join(' ← ') + (c.consistent ? '' : '  (moved the wrong way for this path)')))));
    }
    if (why.blind.length || why.missing.length) {
      parts.push(el('h2', {}, 'Could not look at'));
      parts.push(el('ul', {}, ...why.blind.map((b) => el('li', {}, b + ': no data')),
        ...why.missing.map((x) => el('li', {}, x.metric + ' from ' + x.source + ': ' + x.error))));
    }
    const plots = el('section', { id: 'plots' });
    parts.push(el('h2', {}, path.length > 1 ? 'The breadcrumb, step by step' : 'Its data'), plots);
    detail.replaceChildren(...parts.filter(Boolean));
    showMetrics(path);
    highlight(path, root, why.unmapped_edges);
    await drawPlots(plots, path, why);
    if (state.selected === id) detail.dataset.ready = id;
  }

  // ---- plots ----
  /** The breadcrumb as a picture: one small chart per step, top (the asked
   *  metric) to bottom (the root), on one time axis labelled once under the
   *  last chart; the incident shaded and each step's onset marked, so the
   *  reader sees the cause move first. */
  function drawPlots(container, ids, why) {
    for (const p of state.plots) p.destroy();
    state.plots = [];
    const from = why.baseline ? why.baseline.from : null;
    const query = new URLSearchParams({ metrics: ids.join(',') });
    if (from) query.set('from', from);
    return api('/api/series?' + query).then((r) => {
      if (!r.ok) {
        container.replaceChildren(el('p', { class: 'owed' }, r.body.error));
        return;
      }
      const s = r.body;
      const xs = Array.from({ length: s.points }, (_, i) => (s.start + i * s.step_ms) / 1000);
      const span = xs.length ? [xs[0], xs[xs.length - 1]] : [0, 1];
      const incident = why.incident ? [Date.parse(why.incident.from) / 1000, Date.parse(why.incident.to) / 1000] : null;
      // When each step began to move: the asked metric at its incident, a
      // cause at its own onset (`since`).
      const onset = (id) => {
        if (id === why.metric) return why.incident ? why.incident.from : null;
        const c = why.causes.find((c) => c.metric === id);
        return c && c.since ? c.since : null;
      };
      const width = Math.max(320, container.clientWidth || 480);
      container.append(el('p', { class: 'legend-note' },
        'One time axis (UTC) for every step; the incident shaded; the line marks when each step began to move; thresholds dashed.'));
      ids.forEach((id, step) => {
        const m = state.metricById.get(id) || {};
        const last = step === ids.length - 1;
        const since = onset(id);
        const bounds = [];
        if (m.thresholds) {
          for (const [level, b] of Object.entries(m.thresholds)) {
            if (b) bounds.push({ level, value: b.below !== undefined ? b.below : b.above });
          }
        }
        const box = el('div', { class: 'plot' + (last && ids.length > 1 ? ' root' : ''), dataset: { metric: id, since: since || '' } },
          el('h4', {}, (step + 1) + '. ' + id + (m.unit ? ' (' + m.unit + ')' : '')),
          el('div', { class: 'legend-note' }, describe(moveOf(why, id), m.unit) + (since ? ' · moving from ' + hhmm(since) : '')));
        container.append(box);
        const ys = (s.series[id] || []).map((v) => (v === null ? null : v));
        const stroke = last && ids.length > 1 ? STATUS_COLOURS.red : '#0969da';
        const sinceX = since ? Date.parse(since) / 1000 : null;
        const plot = new uPlot({
          width,
          height: last ? 130 : 92,
          legend: { show: false },
          cursor: { sync: { key: 'why-steps' } },
          tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
          scales: {
            x: { time: true, range: () => span },
            y: { range: (u, min, max) => {
              const lo = Math.min(min, ...bounds.map((b) => b.value));
              const hi = Math.max(max, ...bounds.map((b) => b.value));
              const pad = (hi - lo) * 0.05 || 1;
              return [lo - pad, hi + pad];
            } },
          },
          // The time labels once, under the last chart; the others keep the
          // same ticks as grid lines.
          axes: [last ? { values: (u, ticks) => ticks.map(clock) } : { size: 6, values: (u, ticks) => ticks.map(() => '') },
            { size: 64, values: (u, ticks) => ticks.map(num) }],
          series: [{}, { label: id, stroke, width: 1.5 }],
          hooks: {
            drawClear: [(u) => {
              if (!incident) return;
              const ctx = u.ctx;
              const x0 = u.valToPos(incident[0], 'x', true);
              const x1 = u.valToPos(incident[1], 'x', true);
              ctx.save();
              ctx.fillStyle = 'rgba(207, 34, 46, 0.12)';
              ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
              ctx.restore();
            }],
            draw: [(u) => {
              const ctx = u.ctx;
              for (const b of bounds) {
                const y = u.valToPos(b.value, 'y', true);
                ctx.save();
                ctx.strokeStyle = b.level === 'red' ? STATUS_COLOURS.red : STATUS_COLOURS.amber;
                ctx.setLineDash([6, 4]);
                ctx.beginPath();
                ctx.moveTo(u.bbox.left, y);
                ctx.lineTo(u.bbox.left + u.bbox.width, y);
                ctx.stroke();
                ctx.restore();
              }
              if (sinceX !== null && sinceX >= span[0] && sinceX <= span[1]) {
                const x = u.valToPos(sinceX, 'x', true);
                const dpr = window.devicePixelRatio || 1;
                ctx.save();
                ctx.strokeStyle = '#1f2328';
                ctx.lineWidth = 1.5 * dpr;
                ctx.beginPath();
                ctx.moveTo(x, u.bbox.top);
                ctx.lineTo(x, u.bbox.top + u.bbox.height);
                ctx.stroke();
                ctx.fillStyle = '#1f2328';
                ctx.font = (11 * dpr) + 'px system-ui, sans-serif';
                ctx.textAlign = 'right';
                ctx.textBaseline = 'top';
                ctx.fillText(since.slice(11, 16), x - 3 * dpr, u.bbox.top + 2 * dpr);
                ctx.restore();
              }
            }],
          },
        }, [xs, ys], box);
        state.plots.push(plot);
      });
    });
  }

  // ---- loading and refreshing ----
  function showFreshness() {
    const s = state.status;
    const f = $('freshness');
    if (!s || !s.ready) {
      f.textContent = 'reading the data for the first time…';
      return;
    }
    // The time of the data actually read, not of the window asked for.
    const to = s.data && s.data.read_to ? 'data to ' + hhmm(s.data.read_to) + ', ' : 'no data read, ';
    f.textContent = to + 'refreshed ' + s.refreshed_at.slice(11, 19) + ' UTC' + (s.refreshing ? ' (refreshing…)' : '') + (s.stale ? ' — STALE' : '');
    f.classList.toggle('stale', !!s.stale);
    const missing = s.metrics.filter((m) => m.missing).length;
    const problems = [];
    if (s.catalog_error) problems.push('The latest catalog edit is broken; still serving the last good catalog.\n' + s.catalog_error.text);
    if (s.stale) problems.push('The data is stale: the last refresh ended at ' + s.refreshed_at + '.');
    if (missing) problems.push(missing + ' metric(s) could not be read at the last refresh; they are shown with a dashed border.');
    banner(problems.join('\n\n'));
  }

  async function loadStatus() {
    const r = await api('/api/status');
    if (!r.ok) {
      banner(r.body.error);
      return;
    }
    state.status = r.body;
    state.statusById = new Map(r.body.metrics.map((m) => [m.id, m]));
    if (state.catalog && r.body.catalog_version !== state.catalog.version) {
      await loadCatalog();
    }
    paintStatuses();
    // The first view waits for the statuses: it shows the red business metric.
    if (!state.framed && state.cy && !isBig()) {
      state.framed = true;
      frame(state.cy, focusOfStart());
    }
    renderRedList();
    showFreshness();
  }

  async function loadCatalog() {
    const r = await api('/api/catalog');
    if (!r.ok) {
      banner(r.body.error);
      return false;
    }
    state.catalog = r.body;
    state.metricById = new Map(r.body.metrics.map((m) => [m.id, m]));
    fillFilters();
    buildGraph();
    return true;
  }

  // A link from an alert (`#metric=ID`) opens the page on that metric; read
  // before the token handling rewrites the address.
  const linkedMetric = new URLSearchParams(location.hash.slice(1)).get('metric');

  async function start() {
    if (!(await loadCatalog())) return;
    await loadStatus();
    setInterval(loadStatus, POLL_MS);
    if (linkedMetric && state.metricById.has(linkedMetric)) select(linkedMetric);
  }

  function showView(name) {
    $('view-map').hidden = name !== 'map';
    $('view-review').hidden = name !== 'review';
    $('tab-map').setAttribute('aria-pressed', String(name === 'map'));
    $('tab-review').setAttribute('aria-pressed', String(name === 'review'));
    if (name === 'review') {
      api('/api/review').then((r) => {
        // The server renders the review with every text escaped and raw HTML
        // shown as text (crates/whyline/src/markdown.rs), and the CSP forbids
        // inline script, so the catalog's words cannot become markup here.
        if (r.ok) $('review').innerHTML = r.body.html;
        else $('review').textContent = r.body.error;
        $('review').dataset.ready = '1';
      });
    } else if (state.cy) {
      state.cy.resize();
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('tab-map').addEventListener('click', () => showView('map'));
    $('tab-review').addEventListener('click', () => showView('review'));
    for (const f of ['filter-team', 'filter-service', 'filter-verdict']) $(f).addEventListener('change', applyFilters);
    $('search-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const m = find($('search').value);
      if (!m) {
        banner('No metric matches “' + $('search').value + '”.');
        return;
      }
      if (state.cy) state.cy.animate({ center: { eles: state.cy.getElementById(m.id) }, zoom: Math.max(state.cy.zoom(), 1) }, { duration: 300 });
      select(m.id);
    });
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      sessionStorage.setItem('whyline-token', $('token-input').value.trim());
      $('token-form').hidden = true;
      start();
    });
    start();
  });
})();
