import { REPORT_CSS } from '../report-html.js';

/**
 * The dashboard's single page (inline CSS and JS, no network beyond its own server): the runs in
 * the state folder, and for the selected run its hosts (one line each, with the step strip),
 * pending gates with Approve/Decline, an Abort button, the timeline, the summary and a log tail
 * per host. Fed by server-sent events from `/api/stream`. Example: `res.end(dashboardPage())`.
 */
export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cutover dashboard</title>
<style>${REPORT_CSS}${PAGE_CSS}</style>
</head><body>
<div class="top"><b>cutover</b> dashboard <span id="conn" class="conn off" title="live updates">●</span><span id="conn-text">connecting…</span></div>
<div class="layout">
<nav><h2>Runs</h2><ul id="runs"><li class="muted">no runs yet</li></ul></nav>
<main id="main">
<p id="empty" class="muted">Select a run. Runs appear here as soon as <code>cutover apply</code> starts one (in this state folder, or with <code>--state</code> on any controller).</p>
<div id="run" hidden>
<div class="runhead"><h1 id="run-title"></h1><span id="run-outcome" class="badge"></span><span id="run-elapsed" class="muted"></span>
<span class="spacer"></span><label class="muted">your name <input id="who" size="12" maxlength="64" placeholder="recorded with decisions"></label><a id="report-link" href="#" target="_blank" rel="noopener">HTML report</a><button id="abort" class="danger" hidden>Abort run</button></div>
<p id="run-meta" class="muted"></p>
<p id="run-error" class="error" hidden></p>
<section id="gates" hidden><h2>Waiting for approval</h2><div id="gate-list"></div></section>
<section><h2>Hosts</h2><div id="host-list"></div></section>
<section><h2>Timeline</h2>${LEGEND}<div id="gantt" class="chart"></div></section>
<section><h2>Summary</h2><div id="summary"></div></section>
<section><h2>Log</h2><div id="logs" class="logs"></div></section>
</div>
</main>
</div>
<div id="toast" hidden></div>
<script>${PAGE_JS}</script>
</body></html>
`;
}

const LEGEND =
  '<p class="legend"><span><i class="k-ok"></i>succeeded</span><span><i class="k-run"></i>running</span><span><i class="k-wait"></i>waiting</span><span><i class="k-gate"></i>gate</span><span><i class="k-retry"></i>retried</span><span><i class="k-fail"></i>failed ✗</span><span><i class="k-undo"></i>undo ↶</span><span><i class="k-phase"></i>phase</span></p>';

const PAGE_CSS = `
body{max-width:none;padding:0}
.top{background:#24292e;color:#fff;padding:8px 16px;font-size:15px}.top b{margin-right:6px}
.conn{margin-left:14px;font-size:12px}.conn.on{color:#34d058}.conn.off{color:#f97583}#conn-text{font-size:12px;margin-left:4px;color:#d1d5da}
.layout{display:grid;grid-template-columns:250px 1fr;min-height:calc(100vh - 38px)}
nav{border-right:1px solid #e1e4e8;padding:0 12px;background:#fafbfc}nav h2{margin-top:12px}
nav ul{list-style:none;padding:0;margin:0}nav li{padding:6px 8px;border-radius:6px;cursor:pointer;margin-bottom:4px;font-size:13px}
nav li:hover{background:#f1f8ff}nav li.sel{background:#dbedff}nav li .rid{font-family:ui-monospace,monospace;font-size:12px;display:block}
nav li .gate-dot{color:#b08800;font-weight:700;margin-left:6px}nav li .cluster{display:block;color:#586069;font-size:12px;margin-top:2px}
main{padding:8px 24px 40px;min-width:0}
.runhead{display:flex;align-items:center;gap:12px;flex-wrap:wrap}.runhead h1{font-family:ui-monospace,monospace;font-size:19px}.spacer{flex:1}
.muted{color:#6a737d}
button{font:inherit;padding:5px 14px;border-radius:6px;border:1px solid #d1d5da;background:#fafbfc;cursor:pointer}
button:disabled{opacity:.5;cursor:default}
button.approve{background:#2ea44f;border-color:#22863a;color:#fff}button.danger{background:#d73a49;border-color:#b31d28;color:#fff}
.gate{border:1px solid #d9a400;background:#fffbdd;border-radius:6px;padding:10px 12px;margin:6px 0;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
.gate .msg{flex:1;min-width:280px}.gate .who{font-weight:600;margin-right:6px}
.host{display:grid;grid-template-columns:22px 150px 60px 1fr;align-items:center;gap:6px;padding:5px 8px;border-bottom:1px solid #eaecef;font-size:13px}
.host .name{font-weight:600;overflow:hidden;text-overflow:ellipsis}.host .count{color:#6a737d;font-size:12px}
.host .line{font-family:ui-monospace,monospace;font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.host .chips{grid-column:2/5;display:flex;flex-wrap:wrap;gap:2px}
.chip{width:14px;height:8px;border-radius:2px;background:#e1e4e8}.chip.succeeded{background:#2ea44f}.chip.running{background:#4a90d9;animation:pulse 1s infinite alternate}
.chip.failed,.chip.compensation-failed{background:#d73a49}.chip.compensated,.chip.compensating{background:#8a63d2}
@keyframes pulse{from{opacity:1}to{opacity:.4}}
.st-running .icon{color:#0366d6}.st-succeeded .icon,.st-idle .icon{color:#22863a}.st-failed .icon,.st-aborted .icon{color:#b31d28}.st-rolled-back .icon{color:#6f42c1}.st-pending .icon,.st-not-reached .icon{color:#959da5}
.k-run{background:#4a90d9}
.logs{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:10px}
.logs pre{height:220px;overflow:auto;margin:0;font-size:11px;white-space:pre-wrap}
.logs h3{margin:4px 0;font-size:13px}
#toast{position:fixed;bottom:16px;right:16px;background:#24292e;color:#fff;padding:8px 14px;border-radius:6px;font-size:13px;max-width:480px}
#toast.bad{background:#b31d28}
`
  .replace(/\n/g, '')
  .trim();

const PAGE_JS = `
(function () {
  'use strict';
  var token = new URLSearchParams(location.search).get('token') || '';
  var selected = decodeURIComponent((location.hash.match(/run=([^&]+)/) || [])[1] || '');
  var runs = [];
  var source = null;
  var current = null;
  var $ = function (id) { return document.getElementById(id); };
  var ICONS = { running: '▶', succeeded: '✓', idle: '✓', failed: '✗', aborted: '✗', 'rolled-back': '↶', stopped: '■', pending: '·', 'not-reached': '·' };

  function q(path) { return path + (token ? (path.indexOf('?') < 0 ? '?' : '&') + 'token=' + encodeURIComponent(token) : ''); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function toast(text, bad) {
    var t = $('toast'); t.textContent = text; t.className = bad ? 'bad' : ''; t.hidden = false;
    clearTimeout(toast.timer); toast.timer = setTimeout(function () { t.hidden = true; }, 5000);
  }
  function post(path, body) {
    var headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    body = body || {};
    var who = $('who').value.trim();
    if (who) { body.by = who; try { localStorage.setItem('cutover.who', who); } catch (e) {} }
    return fetch(path, { method: 'POST', headers: headers, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || r.statusText); return j; }); })
      .then(function (j) { toast(j.message || 'sent'); }, function (e) { toast(e.message, true); });
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(q('/api/stream' + (selected ? '?run=' + encodeURIComponent(selected) : '')));
    source.onopen = function () { $('conn').className = 'conn on'; $('conn-text').textContent = 'live'; };
    source.onerror = function () { $('conn').className = 'conn off'; $('conn-text').textContent = 'reconnecting…'; };
    source.addEventListener('runs', function (m) { runs = JSON.parse(m.data); renderRuns(); });
    source.addEventListener('view', function (m) { var v = JSON.parse(m.data); if (v.run === selected) renderRun(v); });
  }

  function select(run) {
    if (run === selected) return;
    selected = run; current = null; $('logs').textContent = '';
    history.replaceState(null, '', location.pathname + location.search + '#run=' + encodeURIComponent(run));
    renderRuns(); connect();
  }

  function renderRuns() {
    if (!selected && runs.length) { var live = runs.filter(function (r) { return r.live; })[0]; select((live || runs[0]).run); return; }
    var ul = $('runs'); ul.textContent = '';
    if (!runs.length) { ul.appendChild(el('li', 'muted', 'no runs yet')); return; }
    runs.forEach(function (r) {
      var li = el('li', r.run === selected ? 'sel' : '');
      li.dataset.run = r.run;
      li.appendChild(el('span', 'rid', r.run));
      li.appendChild(el('span', 'badge o-' + r.outcome, r.outcome));
      if (r.pendingGates) li.appendChild(el('span', 'gate-dot', ' ? gate'));
      li.appendChild(el('span', 'cluster', r.cluster));
      li.onclick = function () { select(r.run); };
      ul.appendChild(li);
    });
  }

  function renderRun(v) {
    current = v;
    $('empty').hidden = true; $('run').hidden = false;
    $('run-title').textContent = v.run;
    var badge = $('run-outcome'); badge.textContent = v.outcome; badge.className = 'badge o-' + v.outcome;
    $('run-elapsed').textContent = v.elapsed;
    $('run-meta').textContent = 'cluster ' + v.cluster + ' · ' + v.runbook + ' · plan ' + v.planHash.slice(0, 12) + ' · ' + v.operator + ' on ' + v.controller + ' · started ' + v.startedAt;
    var err = $('run-error'); err.hidden = !v.error && !v.abort; err.textContent = (v.abort ? 'Abort requested by ' + v.abort.by + '. ' : '') + (v.error || '');
    $('report-link').href = q('/api/runs/' + encodeURIComponent(v.run) + '/report');
    var abort = $('abort'); abort.hidden = !v.live; abort.disabled = !!v.abort;
    renderGates(v);
    renderHosts(v);
    $('gantt').innerHTML = v.gantt;
    $('summary').innerHTML = v.summary;
    renderLogs(v);
  }

  function renderGates(v) {
    var list = $('gate-list'); list.textContent = '';
    $('gates').hidden = v.pendingGates.length === 0;
    v.pendingGates.forEach(function (g) {
      var box = el('div', 'gate');
      box.dataset.step = g.step; box.dataset.host = g.host;
      var msg = el('div', 'msg');
      msg.appendChild(el('span', 'who', g.host));
      msg.appendChild(el('code', '', g.step.replace(/@[^@]*$/, '')));
      msg.appendChild(el('div', '', g.message));
      box.appendChild(msg);
      var yes = el('button', 'approve', 'Approve'); var no = el('button', '', 'Decline');
      yes.disabled = no.disabled = !v.live;
      if (!v.live) box.appendChild(el('span', 'muted', 'no running controller'));
      var decide = function (approved) {
        yes.disabled = no.disabled = true;
        post('/api/runs/' + encodeURIComponent(v.run) + '/gate', { step: g.step, host: g.host, gateSeq: g.seq, approved: approved });
      };
      yes.onclick = function () { decide(true); };
      no.onclick = function () { if (confirm('Decline this gate? The host is then put back by its compensations.')) decide(false); };
      box.appendChild(yes); box.appendChild(no);
      list.appendChild(box);
    });
  }

  function renderHosts(v) {
    var list = $('host-list'); list.textContent = '';
    v.hosts.forEach(function (h) {
      var row = el('div', 'host st-' + h.status);
      row.dataset.host = h.name; row.dataset.status = h.status;
      row.appendChild(el('span', 'icon', ICONS[h.status] || '·'));
      row.appendChild(el('span', 'name', h.name));
      row.appendChild(el('span', 'count', h.done + '/' + h.total));
      row.appendChild(el('span', 'line', h.line));
      var chips = el('div', 'chips');
      h.steps.forEach(function (s) { var c = el('span', 'chip ' + s.status); c.title = s.short + ': ' + s.status; chips.appendChild(c); });
      row.appendChild(chips);
      list.appendChild(row);
    });
  }

  function renderLogs(v) {
    var box = $('logs');
    v.hosts.forEach(function (h) {
      var pre = box.querySelector('pre[data-host="' + CSS.escape(h.name) + '"]');
      if (!pre) {
        var wrap = el('div'); wrap.appendChild(el('h3', '', h.name));
        pre = el('pre'); pre.dataset.host = h.name; wrap.appendChild(pre); box.appendChild(wrap);
      }
      var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      var text = h.log.join('\\n');
      if (pre.textContent !== text) { pre.textContent = text; if (atEnd) pre.scrollTop = pre.scrollHeight; }
    });
  }

  try { $('who').value = localStorage.getItem('cutover.who') || ''; } catch (e) {}
  $('abort').onclick = function () {
    if (!current) return;
    if (confirm('Abort run ' + current.run + '? Hosts in flight are put back by their compensations; no new host starts.'))
      post('/api/runs/' + encodeURIComponent(current.run) + '/abort', {});
  };
  window.addEventListener('hashchange', function () {
    var run = decodeURIComponent((location.hash.match(/run=([^&]+)/) || [])[1] || '');
    if (run && run !== selected) { selected = ''; select(run); }
  });
  connect();
})();
`.trim();
