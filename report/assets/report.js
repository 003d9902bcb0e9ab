// kiln report: builds the page from the JSON in #k-data (written by
// report/HtmlReport.cpp), then sets data-kiln-ready="1" on <html>, which the
// browser test (tests/report/browser_test.py) reads from the rendered DOM.
//
// Left: the model's sources. Right: one tab per phase (its IR, passes and
// times), the graph, the fusion and tiling decisions, the profile and the
// attention maps. Picking a source line marks what it became in every tab;
// picking an IR line, a graph node or a decision marks the lines it came from.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('k-data').textContent);

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  const key = (ref) => ref[0] + ':' + ref[1];
  const fileName = (f) => (data.sources[f] ? data.sources[f].path.split('/').pop() : '?');
  const where = (refs) => refs.map((r) => fileName(r[0]) + ':' + r[1]).join(', ');
  const ms = (s) => (1000 * s).toFixed(s < 0.01 ? 2 : 1) + ' ms';

  // Source line -> what it became: per phase the IR lines, the graph's
  // nodes, the decisions' rows, the attention maps.
  const phaseLines = data.phases.map(() => new Map());
  data.phases.forEach((p, i) => {
    for (const [irLine, refs] of p.map)
      for (const r of refs) {
        const k = key(r);
        if (!phaseLines[i].has(k)) phaseLines[i].set(k, []);
        phaseLines[i].get(k).push(irLine);
      }
  });
  const phaseRefs = data.phases.map((p) => new Map(p.map));

  // ---- header ----
  const header = el('header', {},
    el('h1', {}, 'kiln report: ', el('span', { text: data.model }), data.entry ? ' (@' + data.entry + ')' : ''),
    el('div', { class: 'k-meta' },
      el('b', { text: 'kiln ' + data.version }), ' · target ', el('b', { text: data.targetCpu }),
      ' · host ', el('b', { text: data.hostCpu }), ' · ', data.options || 'default options', ' · ', data.created,
      data.commandLine ? el('div', { text: '$ ' + data.commandLine }) : null));
  if (data.notes.length) header.append(el('ul', { class: 'k-notes' }, ...data.notes.map((n) => el('li', { text: n }))));

  // ---- tabs ----
  function tabBar(container, tabs, onShow) {
    const bar = el('div', { class: 'k-bar', role: 'tablist' });
    const panes = [];
    tabs.forEach((t, i) => {
      const button = el('button', { class: 'k-tab', role: 'tab', 'aria-selected': 'false', 'data-tab': t.id },
        t.label, el('span', { class: 'k-count' }));
      const pane = el('div', { class: 'k-pane', hidden: '', 'data-pane': t.id });
      button.addEventListener('click', () => show(i));
      bar.append(button);
      panes.push(pane);
      t.button = button;
      t.pane = pane;
    });
    let current = -1;
    function show(i) {
      if (i === current) return;
      tabs.forEach((t, k) => {
        t.button.setAttribute('aria-selected', k === i ? 'true' : 'false');
        if (k === i) t.pane.removeAttribute('hidden'); else t.pane.setAttribute('hidden', '');
      });
      current = i;
      onShow(tabs[i]);
    }
    container.append(bar, ...panes);
    return { show, current: () => tabs[current] };
  }

  // A block of numbered lines; `linked(n)` says whether line n can be picked.
  function codeBlock(lines, linked, onPick) {
    const pre = el('pre', { class: 'k-code' });
    const spans = [];
    const frag = document.createDocumentFragment();
    lines.forEach((text, i) => {
      const n = i + 1;
      const span = el('span', { class: 'l', 'data-n': String(n) });
      span.textContent = text === '' ? ' ' : text;
      if (linked(n)) {
        span.classList.add('k-linked');
        span.addEventListener('click', () => onPick(n));
      }
      spans.push(span);
      frag.append(span);
    });
    pre.append(frag);
    return { pre, spans };
  }
  function mark(spans, numbers, cls) {
    for (const s of spans) if (s) s.classList.remove(cls);
    let first = null;
    for (const n of numbers) {
      const s = spans[n - 1];
      if (!s) continue;
      s.classList.add(cls);
      if (!first) first = s;
    }
    return first;
  }
  // Scrolls the pane holding `e` (not the page) so that `e` is in its middle.
  function reveal(e) {
    const pane = e && e.closest('.k-pane');
    if (pane) pane.scrollTop = Math.max(0, e.offsetTop - pane.clientHeight / 2);
  }

  // ---- left: the sources ----
  const left = el('section', { 'aria-label': 'source' });
  const pickedList = el('div', { class: 'k-picked-list', text: 'Pick a source line, an IR line, a graph node or a decision.' });
  const sourceViews = [];
  const sourceTabs = tabBar(left, data.sources.map((s, f) => ({ id: 'src' + f, label: fileName(f), file: f })),
    (t) => renderSource(t));
  left.insertBefore(pickedList, left.children[1] || null);
  function renderSource(t) {
    if (sourceViews[t.file]) return;
    const s = data.sources[t.file];
    const lines = s.lines.map((l) => l);
    const info = el('div', { class: 'k-info', text: s.path + (s.synthesized ? ' (no text to show: the lines the locations name)' : '') });
    const view = codeBlock(lines, () => true, (n) => pickSource([t.file, n]));
    t.pane.append(info, view.pre);
    sourceViews[t.file] = view;
  }
  if (!data.sources.length) left.append(el('div', { class: 'k-empty', text: 'The IR carries no source locations.' }));

  // ---- right: phases, graph, decisions, profile, attention ----
  const right = el('section', { 'aria-label': 'compilation' });
  const tabs = data.phases.map((p, i) => ({ id: 'phase-' + p.name, label: p.name, phase: i }));
  tabs.push({ id: 'graph', label: 'graph' }, { id: 'decisions', label: 'decisions (' + data.decisions.length + ')' },
    { id: 'profile', label: 'profile' }, { id: 'attention', label: 'attention (' + data.attention.length + ')' });
  const phaseViews = [];
  const rightTabs = tabBar(right, tabs, (t) => { render(t); highlight(false); });
  const rendered = new Set();
  function render(t) {
    if (rendered.has(t.id)) return;
    rendered.add(t.id);
    if (t.phase !== undefined) renderPhase(t);
    else if (t.id === 'graph') renderGraph(t.pane);
    else if (t.id === 'decisions') renderDecisions(t.pane);
    else if (t.id === 'profile') renderProfile(t.pane);
    else renderAttention(t.pane);
  }

  function renderPhase(t) {
    const p = data.phases[t.phase];
    const total = p.passes.reduce((a, x) => a + x[1], 0);
    const passes = el('table', { class: 'k-table' },
      el('tr', {}, el('th', { text: 'pass' }), el('th', { text: 'time' }), el('th', { text: 'share' })),
      ...p.passes.map(([name, s]) => el('tr', {}, el('td', { text: name }), el('td', { class: 'k-num', text: ms(s) }),
        el('td', {}, el('span', { class: 'k-shareBar', style: 'width:' + Math.round(120 * s / (total || 1)) + 'px' })))));
    const info = el('div', { class: 'k-info' },
      el('b', { text: p.name }), ': ' + p.summary + ' — ' + p.ops + ' ops, ' + ms(p.seconds) + ', ' +
      p.passes.length + ' passes',
      el('details', {}, el('summary', { text: 'passes and their times' }), passes));
    if (p.truncated)
      info.append(el('div', { text: 'The IR is cut at ' + p.ir.length + ' of ' + p.fullBytes +
        ' bytes (ReportOptions::irLimitBytes); `kiln compile --emit=' + p.name + '` prints all of it.' }));
    const refs = phaseRefs[t.phase];
    const view = codeBlock(p.ir.replace(/\n$/, '').split('\n'), (n) => refs.has(n), (n) => pickIr(t.phase, n));
    t.pane.append(info, view.pre);
    phaseViews[t.phase] = view;
  }

  const graphHost = document.getElementById('k-graph-svg');
  const graphNodes = new Map(Object.entries(data.graph.nodes));
  function renderGraph(pane) {
    const svg = graphHost.querySelector('svg');
    if (!svg) { pane.append(el('div', { class: 'k-empty', text: 'No picture of the graph (see the notes above).' })); return; }
    pane.append(el('div', { class: 'k-info', text: 'Layout: ' + (data.graph.layout === 'dot' ? "Graphviz's dot" :
      "kiln's layered layout (install Graphviz for dot's)") + '. Pick a node to see its source lines.' }),
      el('div', { class: 'k-graphBox' }, svg));
    for (const [id, refs] of graphNodes) {
      const node = svg.querySelector('[id="' + id + '"]');
      if (node && refs.length) node.addEventListener('click', () => pickRefs(refs, 'graph node ' + id));
    }
  }

  const decisionRows = [];
  function renderDecisions(pane) {
    if (!data.decisions.length) { pane.append(el('div', { class: 'k-empty', text: 'No fusion or tiling decisions were recorded.' })); return; }
    const table = el('table', { class: 'k-table' },
      el('tr', {}, el('th', { text: 'phase' }), el('th', { text: 'source' }), el('th', { text: 'decision' })));
    data.decisions.forEach((d) => {
      const row = el('tr', { class: d.sources.length ? 'k-linked' : '' }, el('td', { text: d.phase }),
        el('td', { text: where(d.sources) }), el('td', { text: d.message }));
      if (d.sources.length) row.addEventListener('click', () => pickRefs(d.sources, 'decision: ' + d.message));
      table.append(row);
      decisionRows.push({ row, keys: new Set(d.sources.map(key)) });
    });
    pane.append(el('div', { class: 'k-info', text: 'Per kernel: what fusion and tiling put into it; per op left alone: why (--explain-fusion).' }), table);
  }

  function renderProfile(pane) {
    const p = data.profile;
    if (!p) {
      pane.append(el('div', { class: 'k-empty', text: 'No profile: give the model\'s inputs (kiln report --input NAME=FILE.npy ...) to run it with the per-kernel profiler.' }));
      return;
    }
    const columns = [['share', (k) => k.share, (v) => (100 * v).toFixed(1) + ' %'],
      ['ms/call', (k) => 1000 * k.seconds_per_call, (v) => v.toFixed(3)],
      ['rate', (k) => k.rate, (v, k) => v.toFixed(1) + ' ' + k.unit],
      ['% of peak', (k) => k.percent_of_peak, (v) => v.toFixed(1)],
      ['kind', (k) => k.kind, (v) => v], ['kernel', (k) => k.id, (v) => '#' + v], ['source ops', (k) => k.ops, (v) => v]];
    const table = el('table', { class: 'k-table k-profile' });
    let sortBy = 0, descending = true;
    function fill() {
      const rows = [...p.kernels].sort((a, b) => {
        const x = columns[sortBy][1](a), y = columns[sortBy][1](b);
        return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
      });
      table.replaceChildren(el('tr', {}, ...columns.map((c, i) => el('th', { class: 'k-sortable', 'data-col': c[0],
        text: c[0] + (i === sortBy ? (descending ? ' ▼' : ' ▲') : ''),
        onclick: () => { descending = sortBy === i ? !descending : true; sortBy = i; fill(); } }))));
      for (const k of rows)
        table.append(el('tr', {}, ...columns.map((c) => el('td', { class: typeof c[1](k) === 'number' ? 'k-num' : '',
          text: c[2](c[1](k), k) }))));
    }
    fill();
    const chart = el('div', { class: 'k-info' }, el('b', { text: 'Where the time goes' }));
    for (const k of [...p.kernels].sort((a, b) => b.share - a.share).slice(0, 12))
      chart.append(el('div', {}, el('span', { class: 'k-shareBar', style: 'width:' + Math.max(1, Math.round(400 * k.share)) + 'px' }),
        ' ' + (100 * k.share).toFixed(1) + ' % #' + k.id + ' ' + k.kind + ' — ' + k.ops.slice(0, 90)));
    pane.append(el('div', { class: 'k-info', text: p.calls + ' calls, ' + ms(p.seconds_per_call) + ' per call on ' +
      p.threads + ' thread(s); peak ' + p.peak.gflops_per_core.toFixed(1) + ' GFLOP/s per core (' + p.peak.vector_unit +
      '), triad ' + p.peak.triad_gbs.toFixed(1) + ' GB/s; ' + ms(p.unattributed_seconds_per_call) + ' per call in no kernel.' }),
      chart, table);
  }

  function renderAttention(pane) {
    if (!data.attention.length) {
      pane.append(el('div', { class: 'k-empty', text: 'No attention maps: the model has no attention, or no inputs were given to run it with.' }));
      return;
    }
    const wrap = el('div', { class: 'k-maps' });
    for (const m of data.attention) {
      const cols = data.positionLabels, rows = m.perStep ? data.stepLabels : data.positionLabels;
      const cell = Math.max(4, Math.min(18, Math.floor(420 / Math.max(m.rows, m.cols))));
      const gutter = cols.length || rows.length ? 18 : 0;
      const canvas = el('canvas', { width: String(gutter + m.cols * cell), height: String(gutter + m.rows * cell) });
      const g = canvas.getContext('2d');
      if (g) {
        g.fillStyle = '#fff';
        g.fillRect(0, 0, canvas.width, canvas.height);
        for (let i = 0; i < m.rows; ++i)
          for (let j = 0; j < m.cols; ++j) {
            const w = Math.sqrt(Math.max(0, m.weights[i * m.cols + j]));
            g.fillStyle = 'rgb(255,' + Math.round(255 - 155 * w) + ',' + Math.round(255 - 235 * w) + ')';
            g.fillRect(gutter + j * cell, gutter + i * cell, cell, cell);
          }
        if (gutter) {
          g.fillStyle = '#333';
          g.font = Math.min(12, cell) + 'px sans-serif';
          g.textAlign = 'center';
          for (let j = 0; j < m.cols && j < cols.length; ++j) g.fillText(cols[j], gutter + j * cell + cell / 2, 13);
          for (let i = 0; i < m.rows && i < rows.length; ++i) g.fillText(rows[i], 9, gutter + i * cell + cell / 2 + 4);
        }
      }
      const hover = el('div', { class: 'k-hover' });
      canvas.addEventListener('mousemove', (e) => {
        const j = Math.floor((e.offsetX - gutter) / cell), i = Math.floor((e.offsetY - gutter) / cell);
        if (i < 0 || j < 0 || i >= m.rows || j >= m.cols) { hover.textContent = ''; return; }
        const name = (labels, n, what) => (labels[n] !== undefined ? '"' + labels[n] + '" (' + n + ')' : what + ' ' + n);
        hover.textContent = name(rows, i, m.perStep ? 'step' : 'position') + ' attends to ' + name(cols, j, 'position') +
          ': ' + m.weights[i * m.cols + j].toFixed(3);
      });
      const box = el('div', { class: 'k-map' }, el('h4', { text: m.title }), canvas, hover);
      if (m.sources.length) box.querySelector('h4').addEventListener('click', () => pickRefs(m.sources, m.title));
      wrap.append(box);
    }
    pane.append(el('div', { class: 'k-info', text: 'Attention weights of the first batch item (rows: queries, columns: keys; darker = more weight), computed by the reference interpreter on the inputs given.' }), wrap);
  }

  // ---- picking ----
  let picked = null; // {kind: 'source', ref} or {kind: 'refs', refs}
  function pickSource(ref) {
    picked = { kind: 'source', ref };
    const k = key(ref);
    const counts = data.phases.map((p, i) => (phaseLines[i].get(k) || []).length);
    pickedList.textContent = fileName(ref[0]) + ':' + ref[1] + ' became ' +
      data.phases.map((p, i) => counts[i] + ' line(s) of ' + p.name).join(', ');
    highlight(true);
  }
  function pickIr(phase, n) {
    pickRefs(phaseRefs[phase].get(n) || [], data.phases[phase].name + ' line ' + n, { phase, n });
  }
  function pickRefs(refs, what, irLine) {
    picked = { kind: 'refs', refs, irLine };
    pickedList.textContent = what + ' ← ' + (refs.length ? where(refs) : 'no source line');
    if (refs.length) sourceTabs.show(refs[0][0]);
    highlight(true);
  }
  function highlight(scroll) {
    if (!picked) return;
    const sourceKeys = picked.kind === 'source' ? new Set([key(picked.ref)]) : new Set(picked.refs.map(key));
    sourceViews.forEach((v, f) => {
      if (!v) return;
      const lines = [...sourceKeys].map((k) => k.split(':').map(Number)).filter((r) => r[0] === f).map((r) => r[1]);
      const first = mark(v.spans, lines, picked.kind === 'source' ? 'k-picked' : 'k-hit');
      mark(v.spans, [], picked.kind === 'source' ? 'k-hit' : 'k-picked');
      if (scroll && picked.kind !== 'source') reveal(first);
    });
    tabs.forEach((t) => {
      if (t.phase === undefined) return;
      let hits = [];
      if (picked.kind === 'source') hits = phaseLines[t.phase].get(key(picked.ref)) || [];
      else if (picked.irLine && picked.irLine.phase === t.phase) hits = [picked.irLine.n];
      t.button.querySelector('.k-count').textContent = picked.kind === 'source' ? String(hits.length) : '';
      const v = phaseViews[t.phase];
      if (!v) return;
      const first = mark(v.spans, hits, 'k-hit');
      if (scroll && picked.kind === 'source' && rightTabs.current() === t) reveal(first);
    });
    const svg = document.querySelector('.k-graphBox svg');
    if (svg)
      for (const [id, refs] of graphNodes) {
        const node = svg.querySelector('[id="' + id + '"]');
        if (node) node.classList.toggle('k-hit', refs.some((r) => sourceKeys.has(key(r))));
      }
    for (const d of decisionRows) d.row.classList.toggle('k-hit', [...d.keys].some((k) => sourceKeys.has(k)));
  }

  document.getElementById('k-app').append(header, el('main', {}, left, right));
  // A link may say what to show: report.html#tab=phase-linalg&line=12&file=0.
  const asked = new URLSearchParams(location.hash.slice(1));
  const file = Math.min(Math.max(0, Number(asked.get('file')) || 0), Math.max(0, data.sources.length - 1));
  if (data.sources.length) sourceTabs.show(file);
  const tab = tabs.findIndex((t) => t.id === asked.get('tab'));
  rightTabs.show(tab >= 0 ? tab : 0);
  if (data.sources.length && Number(asked.get('line')) > 0) {
    pickSource([file, Number(asked.get('line'))]);
    reveal(sourceViews[file] && sourceViews[file].spans[Number(asked.get('line')) - 1]);
  }
  document.documentElement.setAttribute('data-kiln-ready', '1');
})();
