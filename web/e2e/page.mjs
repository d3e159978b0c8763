// Drives the page of a running `whyline serve` in headless Chromium.
//
//   node web/e2e/page.mjs why URL ROOT SCREENSHOT
//     loads the page, finds the red business metric on the map, clicks it,
//     and checks the why path reaches ROOT with one plot per metric on it.
//   node web/e2e/page.mjs lead URL METRIC LEAD
//     clicks METRIC, whose map ends at itself, and checks the page names the
//     data's lead LEAD and highlights the lead's path on the map.
//   node web/e2e/page.mjs big URL SCREENSHOT
//     loads a large map and checks it is drawn, searchable and clickable in time.
//   node web/e2e/page.mjs map URL SCREENSHOT
//     the map at 1280x800 as first shown: labels at least 11 px, the red
//     business metric in view, no edge through another metric's box.
//   node web/e2e/page.mjs review URL SCREENSHOT PLANTED
//     the review tab at 1280x800: headings and lists rendered, no literal
//     Markdown, and PLANTED (HTML written into the catalog) shown as text.
//   node web/e2e/page.mjs dead URL
//     a server none of whose metrics could be read: the page says unknown.
//   node web/e2e/page.mjs token URL TOKEN
//     a server that needs a token: the page asks for it, then shows the map;
//     the token given once as #token=... is kept for the tab and leaves the address.
//
// Fails (exit 1) on any console message of level warning or error, any page
// error, or any request that leaves the server's origin. Prints one JSON line
// of measurements. Chromium is the system one ($CHROMIUM or /usr/bin/chromium).
// playwright-core comes from the node_modules build.rs installed (outside the
// source tree), named by PLAYWRIGHT_CORE; else from a local install.
const { chromium } = await import(process.env.PLAYWRIGHT_CORE ?? 'playwright-core');

const [mode, url, ...rest] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

function fail(message) {
  console.error('FAIL: ' + message);
  process.exitCode = 1;
  throw new Error(message);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const problems = [];
const foreign = [];
const origin = new URL(url).origin;
try {
  const context = await browser.newContext({ viewport: { width: 1500, height: 950 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (['error', 'warning'].includes(m.type())) problems.push(m.type() + ': ' + m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) foreign.push(r.url());
  });

  if (mode === 'token') {
    const [secret] = rest;
    await page.goto(url);
    await page.waitForSelector('#token-form:not([hidden])', { timeout: 15000 });
    await page.fill('#token-input', secret);
    await page.click('#token-form button');
    await page.waitForSelector('body[data-ready="map"]', { timeout: 30000 });
    const nodes = await page.evaluate(() => window.whyline.cy.nodes().length);
    // A fresh tab given the token in the address: kept, and taken out of the address.
    const second = await context.newPage();
    second.on('console', (m) => {
      if (['error', 'warning'].includes(m.type())) problems.push(m.type() + ': ' + m.text());
    });
    await second.goto(url + '#token=' + encodeURIComponent(secret));
    await second.waitForSelector('body[data-ready="map"]', { timeout: 30000 });
    const address = second.url();
    if (address.includes(secret)) fail('the token stayed in the address: ' + address);
    // The unauthorised first requests answer 401, which the browser reports
    // as a failed resource load; only those are expected.
    const unexpected = problems.filter((p) => !p.includes('401'));
    if (unexpected.length) fail('console: ' + unexpected.join(' | '));
    if (foreign.length) fail('requests left the origin: ' + foreign.join(', '));
    console.log(JSON.stringify({ mode, nodes }));
    process.exit(0);
  }

  if (mode === 'map') {
    // The map at the size of a laptop, as first shown: labels readable
    // without zooming, the red business metric in view, no edge through a box.
    const [screenshot] = rest;
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="map"]', { timeout: 30000 });
    await page.waitForFunction(() => document.querySelectorAll('#red-list li').length > 0, null, { timeout: 30000 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    const seen = await page.evaluate(() => {
      const cy = window.whyline.cy;
      const ext = cy.extent();
      const inView = cy.nodes().filter((n) => {
        const p = n.position();
        return p.x >= ext.x1 && p.x <= ext.x2 && p.y >= ext.y1 && p.y <= ext.y2;
      });
      const labelPx = inView.map((n) => parseFloat(n.style('font-size')) * cy.zoom());
      // Liang–Barsky: does the segment a-b pass through the box?
      const crosses = (a, b, box) => {
        let t0 = 0;
        let t1 = 1;
        const dx = b.x - a.x;
        const dy = b.y - a.y;
        for (const [p, q] of [[-dx, a.x - box.x1], [dx, box.x2 - a.x], [-dy, a.y - box.y1], [dy, box.y2 - a.y]]) {
          if (p === 0) { if (q < 0) return false; continue; }
          const t = q / p;
          if (p < 0) { if (t > t1) return false; if (t > t0) t0 = t; } else { if (t < t0) return false; if (t < t1) t1 = t; }
        }
        return t1 - t0 > 1e-6;
      };
      const through = [];
      const boxes = cy.nodes().map((n) => {
        const b = n.boundingBox({ includeLabels: false, includeOverlays: false });
        // The border's half width is not the box: 1 px in.
        return { id: n.id(), x1: b.x1 + 1, x2: b.x2 - 1, y1: b.y1 + 1, y2: b.y2 - 1 };
      });
      for (const e of cy.edges()) {
        const pts = [e.sourceEndpoint(), ...(e.segmentPoints() || []), e.targetEndpoint()];
        for (const box of boxes) {
          if (box.id === e.source().id() || box.id === e.target().id()) continue;
          for (let i = 0; i + 1 < pts.length; i++) {
            if (crosses(pts[i], pts[i + 1], box)) { through.push(e.id() + ' through ' + box.id); break; }
          }
        }
      }
      const red = window.whyline.cy.nodes('.st-red[layer = "business"]').map((n) => n.id());
      const redInView = red.filter((id) => inView.some((n) => n.id() === id));
      return { nodes: cy.nodes().length, edges: cy.edges().length, inView: inView.length, minLabelPx: Math.min(...labelPx), through, red, redInView, zoom: cy.zoom() };
    });
    if (!(seen.minLabelPx >= 11)) fail('labels measure ' + seen.minLabelPx + ' px at the first view');
    if (seen.through.length) fail(seen.through.length + ' edges run through a box: ' + seen.through.join(', '));
    if (seen.red.length && !seen.redInView.length) fail('no red business metric in the first view: ' + seen.red);
    await page.screenshot({ path: screenshot });
    if (problems.length) fail('console: ' + problems.join(' | '));
    if (foreign.length) fail('requests left the origin: ' + foreign.join(', '));
    console.log(JSON.stringify({ mode, ...seen }));
    process.exit(0);
  }

  if (mode === 'review') {
    // The review tab at the size of a laptop: rendered (headings, lists), no
    // literal Markdown, and the HTML planted in the catalog shown as text.
    const [screenshot, planted] = rest;
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="map"]', { timeout: 30000 });
    await page.click('#tab-review');
    await page.waitForSelector('#review[data-ready="1"]', { timeout: 60000 });
    const seen = await page.$eval('#review', (r) => ({
      h1: r.querySelectorAll('h1').length,
      h2: r.querySelectorAll('h2').length,
      li: r.querySelectorAll('li').length,
      strong: r.querySelectorAll('strong').length,
      planted: r.querySelectorAll('img, script, iframe, [onerror], [onclick]').length,
      text: r.textContent,
    }));
    if (seen.h2 < 2) fail('the review has ' + seen.h2 + ' h2 headings');
    if (seen.li < 1) fail('the review has no list item');
    if (seen.text.includes('##') || seen.text.includes('**')) fail('literal Markdown in the review: ' + seen.text.slice(0, 300));
    if (seen.planted) fail('markup from the catalog became ' + seen.planted + ' element(s)');
    if (!seen.text.includes(planted)) fail('the planted text is not shown as text: ' + seen.text.slice(0, 500));
    const pwned = await page.evaluate(() => window.pwned === true);
    if (pwned) fail('script from the catalog ran');
    await page.screenshot({ path: screenshot });
    if (problems.length) fail('console: ' + problems.join(' | '));
    if (foreign.length) fail('requests left the origin: ' + foreign.join(', '));
    console.log(JSON.stringify({ mode, h1: seen.h1, h2: seen.h2, li: seen.li, strong: seen.strong }));
    process.exit(0);
  }

  if (mode === 'dead') {
    // Every source unreadable: the page says the statuses are unknown and
    // that no data was read, never "Nothing is red" or a data time.
    await page.goto(url);
    await page.waitForSelector('body[data-ready="map"]', { timeout: 30000 });
    await page.waitForFunction(() => document.querySelectorAll('#red-list li').length > 0, null, { timeout: 30000 });
    const list = await page.$eval('#red-list', (l) => l.textContent);
    const header = await page.$eval('#freshness', (f) => f.textContent);
    if (list.includes('Nothing is red')) fail('the red list says: ' + list);
    if (!list.includes('unknown')) fail('the red list does not say the statuses are unknown: ' + list);
    if (header.includes('data to')) fail('the header claims a data time: ' + header);
    if (!header.includes('no data read')) fail('the header does not say no data was read: ' + header);
    if (problems.length) fail('console: ' + problems.join(' | '));
    if (foreign.length) fail('requests left the origin: ' + foreign.join(', '));
    console.log(JSON.stringify({ mode, list, header }));
    process.exit(0);
  }

  const started = Date.now();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="map"]', { timeout: 30000 });
  // The statuses arrive after the map is drawn.
  await page.waitForFunction(() => document.querySelectorAll('#red-list li').length > 0, null, { timeout: 30000 });
  const mapReadyMs = Date.now() - started;
  const result = { mode, mapReadyMs };

  // Clicks a metric where it is drawn on the map canvas.
  async function clickNode(id) {
    const point = await page.evaluate((id) => {
      const cy = window.whyline.cy;
      const node = cy.getElementById(id);
      cy.center(node);
      const p = node.renderedPosition();
      const box = cy.container().getBoundingClientRect();
      return { x: box.left + p.x, y: box.top + p.y };
    }, id);
    await page.mouse.click(point.x, point.y);
  }

  if (mode === 'why') {
    const [root, screenshot] = rest;
    const catalog = await page.evaluate(async () => (await (await fetch('/api/catalog')).json()));
    const status = await page.evaluate(async () => (await (await fetch('/api/status')).json()));
    const red = new Set(status.metrics.filter((m) => m.status === 'red').map((m) => m.id));
    const business = catalog.metrics.filter((m) => m.layer === 'business' && red.has(m.id));
    if (business.length === 0) fail('no red business metric on the map');
    // The red list shows it too.
    const listed = await page.$$eval('#red-list button', (bs) => bs.map((b) => b.dataset.metric));
    if (!listed.includes(business[0].id)) fail(business[0].id + ' is not in the red list: ' + listed);
    const target = business.find((m) => m.id === 'revenue') || business[0];
    const clicked = Date.now();
    await clickNode(target.id);
    await page.waitForSelector('#detail[data-ready="' + target.id + '"]', { timeout: 20000 });
    result.whyMs = Date.now() - clicked;
    const path = await page.$$eval('#why-path li', (lis) => lis.map((li) => li.dataset.metric));
    if (path[0] !== target.id) fail('the path starts at ' + path[0] + ', not ' + target.id);
    if (path[path.length - 1] !== root) fail('the path ends at ' + path[path.length - 1] + ', not the injected root ' + root);
    const rootText = await page.$eval('#why-path li:last-child', (li) => li.textContent);
    if (!rootText.includes('ROOT CAUSE')) fail('the root is not marked: ' + rootText);
    const plotted = await page.$$eval('#plots .plot', (ps) => ps.map((p) => p.dataset.metric));
    if (JSON.stringify(plotted) !== JSON.stringify(path)) fail('plots ' + plotted + ' do not match the path ' + path);
    const canvases = await page.$$eval('#plots .plot canvas', (cs) => cs.filter((c) => c.width > 0 && c.height > 0).length);
    if (canvases < path.length) fail('only ' + canvases + ' plots were drawn');
    const highlighted = await page.evaluate(() => window.whyline.cy.$('node.on-path').map((n) => n.id()));
    for (const id of path) if (!highlighted.includes(id)) fail(id + ' is on the path but not highlighted on the map');
    // The whole path in view after the click, its labels readable.
    const pathView = await page.evaluate((path) => {
      const cy = window.whyline.cy;
      const ext = cy.extent();
      return path.map((id) => {
        const n = cy.getElementById(id);
        const p = n.position();
        return { id, px: parseFloat(n.style('font-size')) * cy.zoom(),
          inView: p.x >= ext.x1 && p.x <= ext.x2 && p.y >= ext.y1 && p.y <= ext.y2 };
      });
    }, path);
    for (const v of pathView) {
      if (!v.inView) fail(v.id + ' on the path is out of view');
      if (!(v.px >= 11)) fail(v.id + ' on the path is labelled at ' + v.px + ' px');
    }
    const rootMarked = await page.evaluate((root) => window.whyline.cy.getElementById(root).hasClass('root'), root);
    if (!rootMarked) fail('the root is not marked on the map');
    // The breadcrumb as a picture: one time axis for every step, and the
    // root seen moving first (its onset no later than any step above it).
    const spans = await page.evaluate(() => window.whyline.plots().map((u) => [u.scales.x.min, u.scales.x.max]));
    if (new Set(spans.map((x) => JSON.stringify(x))).size !== 1) fail('the steps do not share one time axis: ' + JSON.stringify(spans));
    const onsets = await page.$$eval('#plots .plot', (ps) => ps.map((p) => p.dataset.since));
    const rootOnset = onsets[onsets.length - 1];
    if (!rootOnset) fail('the root chart has no onset: ' + onsets);
    for (const o of onsets) if (o && Date.parse(o) < Date.parse(rootOnset)) fail('a step moved before the root: ' + onsets);
    result.onsets = onsets;
    // What the page prints, for the test to hold beside the CLI's answer.
    result.steps = await page.$$eval('#why-path li', (lis) => lis.map((li) => li.textContent));
    result.headline = await page.$eval('#detail', (d) => [...d.querySelectorAll('p')].map((p) => p.textContent).find((t) => t.startsWith('Most likely root cause')) || '');
    result.candidates = await page.$$eval('#detail h2', (hs) => {
      const h = hs.find((x) => x.textContent === 'Other candidates');
      return h ? [...h.nextElementSibling.querySelectorAll('li')].map((li) => li.textContent) : [];
    });
    result.path = path;
    await page.screenshot({ path: screenshot, fullPage: false });
    await page.locator('#plots').screenshot({ path: screenshot.replace(/\.png$/, '-breadcrumb.png') });
    // The review tab.
    await page.click('#tab-review');
    await page.waitForSelector('#review[data-ready="1"]', { timeout: 60000 });
    const headings = await page.$$eval('#review h2', (h) => h.length);
    if (headings < 2) fail('the review tab shows ' + headings + ' headings');
    await page.screenshot({ path: screenshot.replace(/\.png$/, '-review.png') });
    await page.click('#tab-map');
    // Search finds a metric and shows it.
    await page.fill('#search', root);
    await page.press('#search', 'Enter');
    await page.waitForSelector('#detail[data-ready="' + root + '"]', { timeout: 20000 });
    // Filters hide what does not match.
    const team = catalog.metrics.find((m) => m.id === root).owner;
    await page.selectOption('#filter-team', team);
    const hidden = await page.evaluate(() => window.whyline.cy.$('node.filtered-out').length);
    const others = catalog.metrics.filter((m) => m.owner !== team).length;
    if (hidden !== others) fail('the team filter hid ' + hidden + ' metrics, expected ' + others);
  } else if (mode === 'lead') {
    const [metric, lead] = rest;
    await clickNode(metric);
    await page.waitForSelector('#detail[data-ready="' + metric + '"]', { timeout: 20000 });
    const text = await page.$eval('#detail', (d) => d.textContent);
    if (!text.includes('The map ends at ' + metric)) fail('the map does not end at ' + metric + ': ' + text.slice(0, 300));
    const named = await page.$eval('#why-lead strong', (s) => s.textContent).catch(() => null);
    if (named !== lead) fail('the lead shown is ' + named + ', not ' + lead);
    const highlighted = await page.evaluate(() => window.whyline.cy.$('node.on-path').map((n) => n.id()));
    if (!highlighted.includes(lead)) fail('the lead ' + lead + ' is not highlighted: ' + highlighted);
    result.lead = named;
  } else if (mode === 'big') {
    const [screenshot] = rest;
    const catalog = await page.evaluate(async () => (await (await fetch('/api/catalog')).json()));
    result.nodes = catalog.metrics.length;
    // Opened collapsed by service and layer, every group in view and legible.
    const first = await page.$eval('#red-list button', (b) => b.dataset.metric);
    const firstView = await page.evaluate((first) => {
      const cy = window.whyline.cy;
      const groups = cy.nodes('[kind = "group"]');
      const ext = cy.extent();
      const inView = groups.filter((n) => {
        const p = n.position();
        return p.x >= ext.x1 && p.x <= ext.x2 && p.y >= ext.y1 && p.y <= ext.y2;
      }).length;
      const px = Math.min(...groups.map((n) => parseFloat(n.style('font-size')) * cy.zoom()));
      const metrics = cy.nodes().filter((n) => n.data('kind') !== 'group').length;
      const group = cy.nodes('[kind = "group"]').filter((n) => window.whyline.groupOf(first) === n.data('group'));
      return { groups: groups.length, inView, px, metrics, group: group.id() };
    }, first);
    if (firstView.metrics !== 0) fail(firstView.metrics + ' metrics drawn before any group was opened');
    if (firstView.inView !== firstView.groups) fail('only ' + firstView.inView + ' of ' + firstView.groups + ' groups in view');
    if (!(firstView.px >= 11)) fail('group labels measure ' + firstView.px + ' px');
    await page.screenshot({ path: screenshot.replace(/\.png$/, '-groups.png') });
    // A group opens on a tap and closes on the next.
    const opened = await page.evaluate((gid) => {
      const cy = window.whyline.cy;
      cy.getElementById(gid).emit('tap');
      const open = cy.getElementById(gid).children().length;
      cy.getElementById(gid).emit('tap');
      return { open, closed: cy.getElementById(gid).children().length };
    }, firstView.group);
    const members = catalog.metrics.filter((m) => (m.service || 'no service') + ' · ' + m.layer === firstView.group.slice('group:'.length)).length;
    if (opened.open !== members) fail('the group opened with ' + opened.open + ' of its ' + members + ' metrics');
    if (opened.closed !== 0) fail('the group kept ' + opened.closed + ' metrics when closed');
    result.groups = firstView.groups;
    result.groupLabelPx = firstView.px;
    result.openedMembers = opened.open;
    // Asking from the red list opens the groups on the path.
    const clicked = Date.now();
    await page.click('#red-list button[data-metric="' + first + '"]');
    await page.waitForSelector('#detail[data-ready="' + first + '"]', { timeout: 20000 });
    result.whyMs = Date.now() - clicked;
    const shown = await page.evaluate((first) => window.whyline.cy.getElementById(first).hasClass('on-path'), first);
    if (!shown) fail(first + ' is not drawn on its path after the question');
    // Pan and zoom stay responsive: time 20 zoom steps.
    const zoomStart = Date.now();
    for (let i = 0; i < 20; i++) {
      await page.mouse.move(400, 400);
      await page.mouse.wheel(0, i % 2 ? 200 : -200);
    }
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    result.zoom20Ms = Date.now() - zoomStart;
    // Let the map redraw its edges after the last zoom before the picture.
    await page.waitForTimeout(500);
    await page.screenshot({ path: screenshot });
  } else {
    fail('unknown mode ' + mode);
  }
  if (problems.length) fail('console: ' + problems.join(' | '));
  if (foreign.length) fail('requests left the origin: ' + foreign.join(', '));
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
