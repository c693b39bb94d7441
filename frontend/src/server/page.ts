// The page's HTML shell; the client script fills in runs, agents and history.
import { MAX_AGENTS, MAX_PROMPT_LENGTH, MIN_AGENTS } from '@multiclaude/contract';

export const DEFAULT_AGENTS = 3;

export function renderPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>multiclaude</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script type="module" src="/app.js"></script>
</head>
<body>
<a class="skip" href="#prompt">Skip to the prompt</a>
<header class="top">
  <h1>multiclaude</h1>
  <p class="tagline">Several Claude agents on one prompt, each on its own git branch.</p>
  <p id="model" class="model" role="status"></p>
</header>
<div id="banner" class="banner" role="alert" hidden></div>
<div class="layout">
  <main id="main" class="content">
    <form id="run-form" class="card run-form" novalidate>
      <label for="prompt">Prompt</label>
      <textarea id="prompt" name="prompt" rows="5" required data-max-length="${MAX_PROMPT_LENGTH}"
        placeholder="Build a typescript app which shows a digital clock."
        aria-describedby="prompt-hint prompt-count form-error"></textarea>
      <p id="prompt-hint" class="hint">Each agent gets this prompt in its own worktree. Ctrl+Enter runs it.</p>
      <p id="prompt-count" class="hint counter" aria-live="polite" hidden></p>
      <label for="check-command">Check command <span class="hint">(optional: run in each agent's sandbox when it ends, to rank them)</span></label>
      <input id="check-command" name="check_command" type="text" autocomplete="off" spellcheck="false" placeholder="npm test">
      <div class="form-row source-row">
        <label for="source-repo">Repository <span class="hint">(optional: a git URL or a path on the orchestrator's host; empty starts a fresh repository)</span></label>
        <input id="source-repo" name="source_repo" type="text" autocomplete="off" spellcheck="false" placeholder="a git URL, or /srv/git/project.git">
        <label for="source-ref">Ref <span class="hint">(branch, tag or commit; default HEAD)</span></label>
        <input id="source-ref" name="source_ref" type="text" autocomplete="off" spellcheck="false" placeholder="main">
      </div>
      <label for="setup-command">Setup command <span class="hint">(optional: run once, with network, before any agent starts, e.g. to install dependencies)</span></label>
      <input id="setup-command" name="setup_command" type="text" autocomplete="off" spellcheck="false" placeholder="npm ci">
      <label for="budget">Budget in US dollars <span class="hint">(optional: the whole run's limit, shared equally by its agents)</span></label>
      <input id="budget" name="budget_usd" type="text" inputmode="decimal" autocomplete="off" placeholder="e.g. 2.50">
      <details class="best-of-n">
        <summary>Best of N: stop early, start adaptively, judge</summary>
        <div class="best-of-n-fields">
          <label for="select-mode">Pick the winner by</label>
          <select id="select-mode" name="select">
            <option value="">the check (default)</option>
            <option value="check+judge">a judge among those passing the check</option>
            <option value="judge">a judge among all that finished</option>
          </select>
          <label class="inline"><input id="stop-first-pass" name="stop_when" type="checkbox" value="first_pass"> Stop the others once one passes the check</label>
          <label for="start-with">Start with <span class="hint">(empty: all at once; else this many, more only while none passes and the budget allows)</span></label>
          <input id="start-with" name="start_with" type="number" min="1" max="${MAX_AGENTS}" step="1" inputmode="numeric">
          <label class="inline"><input id="learn-from-failures" name="learn_from_failures" type="checkbox"> Tell later attempts how earlier ones failed</label>
        </div>
      </details>
      <div class="form-row">
        <label for="agents">Agents</label>
        <input id="agents" name="agents" type="range" min="${MIN_AGENTS}" max="${MAX_AGENTS}" step="1" value="${DEFAULT_AGENTS}"
          aria-valuetext="${DEFAULT_AGENTS} agents">
        <output id="agents-value" for="agents" aria-hidden="true">${DEFAULT_AGENTS}</output>
        <button id="run-button" type="submit" class="primary">Run</button>
      </div>
      <p id="form-error" class="error" role="alert" hidden></p>
    </form>
    <section id="run" class="run" aria-labelledby="run-title" hidden>
      <div class="run-head">
        <h2 id="run-title">Run <code id="run-id"></code></h2>
        <span id="run-status" class="badge"></span>
        <span id="cancel-run-slot"></span>
      </div>
      <p id="run-progress" class="progress" role="status" aria-live="polite"></p>
      <p id="run-error" class="error" role="alert" hidden></p>
      <dl class="run-info">
        <div><dt>Run dir</dt><dd><code id="run-dir">—</code></dd></div>
        <div><dt>Created</dt><dd id="run-created">—</dd></div>
        <div><dt>Tokens</dt><dd id="run-tokens">—</dd></div>
        <div><dt>Cost</dt><dd id="run-cost">—</dd></div>
        <div><dt>Budget</dt><dd id="run-budget">—</dd></div>
        <div><dt>Check</dt><dd><code id="run-check">—</code></dd></div>
        <div><dt>Source</dt><dd><code id="run-source">—</code></dd></div>
        <div><dt>Setup</dt><dd id="run-setup">—</dd></div>
        <div><dt>Recommended</dt><dd id="run-recommended">—</dd></div>
      </dl>
      <details class="run-prompt"><summary>Prompt</summary><pre id="run-prompt"></pre></details>
      <div id="run-overview"></div>
      <section id="leaderboard" class="leaderboard" aria-labelledby="leaderboard-title" hidden>
        <h3 id="leaderboard-title">Leaderboard</h3>
        <p id="leaderboard-winner" class="winner-line" role="status" hidden></p>
        <p id="leaderboard-note" class="note" role="status" hidden></p>
        <p id="leaderboard-judge" class="hint" hidden></p>
        <p id="leaderboard-savings" class="hint" hidden></p>
        <p id="leaderboard-totals" class="hint" hidden></p>
        <div class="leaderboard-scroll"><table>
          <thead><tr><th scope="col">Rank</th><th scope="col">Attempt</th><th scope="col">Status</th><th scope="col">Check</th><th scope="col">Tokens</th><th scope="col">Cost</th><th scope="col">Time</th><th scope="col">Why</th></tr></thead>
          <tbody id="leaderboard-rows"></tbody>
        </table></div>
      </section>
      <div id="agent-panels" class="agents"></div>
    </section>
  </main>
  <aside class="history card" aria-labelledby="history-title">
    <div class="history-head">
      <h2 id="history-title">Runs</h2>
      <button id="history-refresh" type="button" class="quiet">Refresh</button>
    </div>
    <p id="history-error" class="error" role="alert" hidden></p>
    <ul id="history-list" class="history-list"></ul>
    <button id="history-more" type="button" class="quiet" hidden>Older runs</button>
  </aside>
</div>
</body>
</html>
`;
}
