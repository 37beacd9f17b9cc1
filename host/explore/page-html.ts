// The explorer page's markup: a fixed skeleton with no data in it. The page's script fills it from the
// JSON API, as text only. assets.ts puts a modulepreload link for each script module at <!--modulepreload-->,
// so the browser fetches them all at once instead of one import level at a time. The hooks of CONTRACT §8 are `data-verdict` here and, per rendered timeline
// row, `data-entry` and `data-status` (page/timeline.ts).
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nodevms explorer</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/explorer.css">
<script type="module" src="/page/main.js"></script>
<!--modulepreload-->
</head>
<body>
<header id="top">
  <div class="title-row">
    <h1>nodevms explorer</h1>
    <span id="verdict" class="verdict" data-verdict="pending">connecting…</span>
    <span id="phase" class="phase"></span>
  </div>
  <div class="progress" id="progress" title="fetched (light) and replayed (dark)">
    <div class="bar fetched" id="fetched-bar"></div><div class="bar replayed" id="replayed-bar"></div>
  </div>
  <div id="progress-text" class="progress-text"></div>
  <dl class="facts" id="facts"></dl>
  <section id="mismatch" class="mismatch" hidden></section>
  <div id="problem" class="problem" hidden></div>
</header>
<main>
  <section class="left">
    <div class="chart-box">
      <div class="chart-head"><span>Calls over log position (bar: most gas one call used)</span><span id="chart-scale"></span></div>
      <canvas id="chart" height="96"></canvas>
      <div class="legend"><span class="key key-call"></span>verified call <span class="key key-pending"></span>not yet verified
        <span class="key key-failed"></span>failed call <span class="key key-restart"></span>restart <span class="key key-upgrade"></span>upgrade
        <span class="key key-mismatch"></span>mismatch</div>
    </div>
    <div class="timeline-head row">
      <span class="c-index">#</span><span class="c-kind">kind</span><span class="c-method">method</span><span class="c-caller">caller</span>
      <span class="c-outcome">result or error</span><span class="c-gas">gas</span><span class="c-status">status</span>
    </div>
    <div id="timeline" class="timeline" tabindex="0">
      <div id="timeline-rows" class="timeline-rows"></div>
      <div id="timeline-space"></div>
    </div>
    <label class="follow"><input type="checkbox" id="follow" checked> keep the newest entry in view</label>
  </section>
  <aside class="right">
    <nav class="tabs">
      <button type="button" id="tab-entry" class="tab active">Entry</button>
      <button type="button" id="tab-files" class="tab">Files</button>
    </nav>
    <section id="entry-panel" class="panel"><p class="hint">Click an entry in the timeline to see its arguments, result, oracle values, gas, the files it changed and the state root.</p></section>
    <section id="files-panel" class="panel" hidden></section>
  </aside>
</main>
</body>
</html>
`
