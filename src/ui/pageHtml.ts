/**
 * The local page's markup: static, with no inline script or style (the CSP forbids both); the
 * script (/assets/ui.js) fills in the checklist, the settings and the outcomes as text, never as
 * markup. Every control has a label, every button says first what it will change, progress is
 * said in an aria-live region, and the checklist's verdicts carry a mark and a word besides colour.
 */

/** The page. */
export const UI_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>porthole: make your server reachable</title>
<link rel="stylesheet" href="/assets/ui.css">
<script src="/assets/ui.js" defer></script>
</head>
<body>
<header>
<h1>Make your server reachable from the internet</h1>
<p>porthole checks every step between a program on this computer and the people who should reach it, tells you in plain words what is wrong, and can fix it for you. This page runs on this computer only.</p>
</header>
<main>
<section aria-labelledby="what-title">
<h2 id="what-title">What should be reachable?</h2>
<form id="check-form" novalidate>
<div class="field">
<label for="source">Port number, or the path of a ports table file</label>
<input id="source" name="source" autocomplete="off" spellcheck="false" inputmode="text" aria-describedby="source-help source-error">
<p id="source-help" class="help">For example 7001, or 7001,7002/udp, or the path of your application's ports table (a .yaml file).</p>
</div>
<div class="field">
<label for="example">Or pick an application</label>
<select id="example" name="example" aria-describedby="example-help"><option value="">None</option></select>
<p id="example-help" class="help">Ports tables for the kinds of server porthole knows, from their makers' instructions.</p>
</div>
<div id="table" class="table" hidden></div>
<p id="source-error" class="error" hidden></p>
<button id="check" type="submit">Check</button>
</form>
</section>
<section aria-labelledby="checklist-title">
<h2 id="checklist-title">Checklist</h2>
<p id="progress" class="progress" role="status" aria-live="polite">Enter a port and choose Check.</p>
<ol id="hops" class="hops" aria-labelledby="checklist-title"></ol>
<p id="verdict" class="verdict" hidden></p>
</section>
<section aria-labelledby="fix-title">
<h2 id="fix-title">Fix it</h2>
<div class="action">
<p id="expose-what" class="what">Asks your router to forward the port to this computer (where that cannot work: an opening in the router's IPv6 firewall, or your relay), then checks from outside that it works. The router keeps the forward for 2 hours.</p>
<button id="expose" type="button" aria-describedby="expose-what">Make it reachable</button>
</div>
<div class="action">
<p id="keep-what" class="what">Does the same and keeps it working while this page runs: renews the forward, makes it again after the router restarts, and checks from outside every 5 minutes. Stopping removes what it made.</p>
<button id="keep" type="button" aria-describedby="keep-what">Keep it open</button>
<button id="keep-stop" type="button" class="secondary" hidden>Stop keeping it open</button>
</div>
<div class="action">
<p id="firewall-what" class="what">Adds a rule to this computer's firewall that lets connections in on the port. It stays until you remove it.</p>
<button id="firewall" type="button" aria-describedby="firewall-what">Open the host firewall</button>
</div>
<div class="action">
<p id="remove-what" class="what">Stops anything this page keeps open, removes the port forwards and firewall rules this page made, and anything an earlier porthole left behind.</p>
<button id="remove" type="button" class="danger" aria-describedby="remove-what">Remove what porthole made</button>
</div>
<div id="outcome" class="outcome" aria-live="polite"></div>
</section>
<section id="kept" aria-labelledby="kept-title" hidden>
<h2 id="kept-title">Kept open</h2>
<div id="kept-give"></div>
<ul id="kept-status" class="kept-list"></ul>
</section>
<section aria-labelledby="settings-title">
<h2 id="settings-title">Settings</h2>
<form id="settings-form" novalidate>
<div class="field">
<label for="set-checker">Check service</label>
<input id="set-checker" name="checker" type="url" autocomplete="off" spellcheck="false" aria-describedby="set-checker-help set-checker-from">
<p id="set-checker-help" class="help">The address of a porthole check service outside your network (http://…). It connects to you from outside, the way your users will.</p>
<p id="set-checker-from" class="help"></p>
</div>
<div class="field">
<label for="set-relay">Relay</label>
<input id="set-relay" name="relay" autocomplete="off" spellcheck="false" aria-describedby="set-relay-help set-relay-from">
<p id="set-relay-help" class="help">Used when your connection cannot be opened (ssh://user@relay.example.net): users then connect through it.</p>
<p id="set-relay-from" class="help"></p>
</div>
<div class="field">
<label for="set-name">Name for your users</label>
<input id="set-name" name="name" autocomplete="off" spellcheck="false" aria-describedby="set-name-help set-name-from">
<p id="set-name-help" class="help">The DNS name you give your users (media.example.net); porthole checks that it leads to your public address.</p>
<p id="set-name-from" class="help"></p>
</div>
<p id="settings-file" class="help"></p>
<button id="save-settings" type="submit" class="secondary">Save settings</button>
<p id="settings-status" role="status" aria-live="polite"></p>
</form>
</section>
</main>
<footer>
<p id="stop-what" class="what">Stops this page and everything it keeps open (the same as Ctrl-C in the terminal where porthole ui runs).</p>
<button id="stop" type="button" class="danger" aria-describedby="stop-what">Stop</button>
<p id="stopped" class="stopped" role="status" aria-live="assertive"></p>
<p id="announce" class="visually-hidden" role="status" aria-live="polite"></p>
</footer>
</body>
</html>
`;

/** What a browser that opened the page without its key sees (403). */
export const UI_FORBIDDEN_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>porthole: open the address porthole printed</title>
<link rel="stylesheet" href="/assets/ui.css">
</head>
<body>
<main>
<section>
<h1>This page needs its key</h1>
<p>This page can change your router and firewall, so it opens only from the address that <code>porthole ui</code> printed in its window (it ends with <code>?token=</code> and a key). Open that address on this computer, or start <code>porthole ui</code> again.</p>
</section>
</main>
</body>
</html>
`;
