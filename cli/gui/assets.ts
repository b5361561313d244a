/**
 * The page's markup and style, shipped as strings in the package (the script is page/page.ts, compiled
 * by the build). The markup holds no script and no text from the network: the script fills it in, as
 * text. Its labels are the original's: a login form, then a chat window whose entry says "Write your
 * message here.".
 */

/** The page, with the token in the addresses of its script and style (the only requests it makes). */
export function pageHtml(token: string): string {
  if (!/^[0-9a-f]+$/.test(token)) {
    throw new Error('the token must be hex');
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>gaschat</title>
<link rel="stylesheet" href="/style.css?t=${token}">
<script type="module" src="/page.js?t=${token}"></script>
</head>
<body>
<header>
  <h1>gaschat</h1>
  <p id="status" role="status">connecting to gaschat…</p>
</header>
<main>
  <section id="login-view" aria-labelledby="login-title" hidden>
    <h2 id="login-title">Log in</h2>
    <form id="login-form" novalidate>
      <label for="server">Server</label>
      <input id="server" name="server" autocomplete="off" spellcheck="false" required>
      <label for="username">Username</label>
      <input id="username" name="username" autocomplete="username" spellcheck="false" maxlength="32" required>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required>
      <button type="submit">Log in</button>
    </form>
    <p id="login-alert" role="alert"></p>
  </section>
  <section id="chat-view" aria-label="Chat" hidden>
    <div id="chat-main">
      <ol id="messages" role="log" aria-label="Messages" tabindex="0"></ol>
      <button id="new-messages" type="button" hidden>New messages ↓</button>
      <form id="say-form" novalidate>
        <label for="message">Message</label>
        <input id="message" name="message" placeholder="Write your message here." autocomplete="off" dir="auto">
        <button type="submit">Send</button>
        <span id="byte-count" aria-live="polite"></span>
      </form>
      <p id="say-error" aria-live="polite"></p>
    </div>
    <aside id="side" aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <ul id="members" aria-labelledby="members-title"></ul>
      <button id="leave" type="button">Leave</button>
    </aside>
    <div id="closed-panel" hidden>
      <p id="closed-why"></p>
      <button id="login-again" type="button">Log in again</button>
    </div>
  </section>
</main>
</body>
</html>
`;
}

export const PAGE_CSS = `:root {
  color-scheme: light dark;
  --bg: #f7f7f9; --fg: #1d1f24; --muted: #5d6270; --panel: #ffffff; --line: #d8dbe2;
  --accent: #2456c9; --accent-fg: #ffffff; --self: #e8f0ff; --warn: #9a3412; --alert-bg: #fff1e6;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  background: var(--bg); color: var(--fg);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14161b; --fg: #e6e8ee; --muted: #a0a6b4; --panel: #1d2027; --line: #343946;
    --accent: #7aa2ff; --accent-fg: #0b1020; --self: #1f2a44; --warn: #fdba74; --alert-bg: #3a2417;
  }
}
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; flex-direction: column; }
header { display: flex; align-items: baseline; gap: 1rem; padding: 0.6rem 1rem; border-bottom: 1px solid var(--line); background: var(--panel); flex-wrap: wrap; }
header h1 { margin: 0; font-size: 1.2rem; }
#status { margin: 0; color: var(--muted); overflow-wrap: anywhere; }
#status[data-phase="joined"] { color: inherit; }
#status[data-phase="reconnecting"], #status[data-phase="closed"] { color: var(--warn); }
main { flex: 1; display: flex; min-height: 0; }
[hidden] { display: none !important; }
#login-view { align-self: flex-start; margin: 2rem auto; width: min(24rem, calc(100% - 2rem)); background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 1.2rem; }
#login-view h2 { margin-top: 0; }
#login-form { display: grid; gap: 0.35rem; }
#login-form label { margin-top: 0.5rem; font-weight: 600; }
input { font: inherit; padding: 0.5rem 0.6rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); min-width: 0; }
input:focus-visible, button:focus-visible, #messages:focus-visible { outline: 3px solid var(--accent); outline-offset: 1px; }
button { font: inherit; padding: 0.5rem 0.9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); cursor: pointer; }
button:disabled { opacity: 0.5; cursor: not-allowed; }
#login-form button { margin-top: 1rem; }
#login-alert:not(:empty) { margin: 1rem 0 0; padding: 0.6rem 0.8rem; border-radius: 6px; background: var(--alert-bg); color: var(--warn); }
#chat-view { flex: 1; display: grid; grid-template-columns: 1fr 14rem; min-height: 0; width: 100%; }
#chat-main { display: flex; flex-direction: column; min-height: 0; min-width: 0; position: relative; }
#messages { flex: 1; list-style: none; margin: 0; padding: 0.5rem 1rem; overflow-y: auto; min-height: 12rem; max-height: calc(100vh - 9rem); }
#messages li { padding: 0.25rem 0.4rem; border-radius: 6px; margin: 0.15rem 0; overflow-wrap: anywhere; white-space: pre-wrap; }
#messages li.self { background: var(--self); }
#messages li.notice { color: var(--muted); font-style: italic; }
#messages .time { color: var(--muted); font-size: 0.85em; margin-right: 0.4rem; font-variant-numeric: tabular-nums; }
#messages .from { font-weight: 700; margin-right: 0.3rem; }
#messages .mark { color: var(--muted); font-size: 0.85em; margin-left: 0.4rem; }
#messages li[data-state="not-delivered"] .mark { color: var(--warn); }
#new-messages { position: absolute; bottom: 4.5rem; left: 50%; transform: translateX(-50%); }
#say-form { display: grid; grid-template-columns: auto 1fr auto; gap: 0.5rem; align-items: center; padding: 0.6rem 1rem; border-top: 1px solid var(--line); background: var(--panel); }
#byte-count { grid-column: 2 / 4; color: var(--muted); font-size: 0.85em; }
#byte-count[data-over="true"] { color: var(--warn); font-weight: 700; }
#say-error { margin: 0; padding: 0 1rem; color: var(--warn); min-height: 1.2em; }
#side { border-left: 1px solid var(--line); padding: 0.6rem 1rem; background: var(--panel); overflow-y: auto; }
#side h2 { font-size: 1rem; margin: 0.2rem 0 0.5rem; }
#members { list-style: none; padding: 0; margin: 0 0 1rem; }
#members li { padding: 0.15rem 0; overflow-wrap: anywhere; }
#closed-panel { grid-column: 1 / -1; padding: 0.8rem 1rem; border-top: 1px solid var(--line); background: var(--alert-bg); }
#closed-panel p { margin: 0 0 0.5rem; }
@media (max-width: 40rem) {
  #chat-view { grid-template-columns: 1fr; grid-template-rows: auto 1fr; }
  #side { order: -1; border-left: none; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; padding: 0.4rem 1rem; }
  #side h2 { margin: 0; }
  #members { display: flex; flex-wrap: wrap; gap: 0.2rem 0.6rem; margin: 0; flex: 1; }
  #messages { max-height: calc(100vh - 16rem); }
  #say-form { grid-template-columns: 1fr auto; }
  #say-form label { grid-column: 1 / -1; }
  #byte-count { grid-column: 1 / -1; }
}
`;
