/**
 * The local page's styles, served as a file (/assets/ui.css) so the page runs under a CSP without
 * inline styles. Narrow screens first (320 px wide works); colours always come with a mark and a
 * word (✔ Works, ! Check this, ✖ Problem, – Not checked), and every pair meets WCAG AA contrast.
 */
export const UI_STYLE = `
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; background: #fafafa; }
header, main, footer { max-width: 48rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: .5rem 0; }
h2 { font-size: 1.2rem; margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 0; }
section { background: #fff; border: 1px solid #d6d6d6; border-radius: .5rem; padding: 1rem; margin: 1rem 0; }
p { margin: .4rem 0; }
a { color: #0b57d0; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em; }
code { background: #f1f1f1; padding: 0 .2em; border-radius: .2em; overflow-wrap: anywhere; }
pre { background: #f1f1f1; padding: .6rem; border-radius: .3rem; white-space: pre-wrap; overflow-wrap: anywhere; margin: .4rem 0; }
.field { margin: 0 0 .8rem; }
label { display: block; font-weight: 600; margin-bottom: .2rem; }
input, select { font: inherit; width: 100%; max-width: 32rem; padding: .5rem .6rem; border: 1px solid #767676; border-radius: .3rem; background: #fff; color: inherit; min-height: 2.75rem; }
.help { color: #4a4a4a; font-size: .9rem; margin: .2rem 0 0; }
button { font: inherit; font-weight: 600; min-height: 2.75rem; padding: .5rem 1rem; border-radius: .3rem; border: 1px solid #0b57d0; background: #0b57d0; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #0b57d0; }
button.danger { background: #fff; color: #a01d12; border-color: #a01d12; }
button:disabled { background: #e3e3e3; color: #4a4a4a; border-color: #b0b0b0; cursor: not-allowed; }
button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible, a:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.error { color: #a01d12; font-weight: 600; }
input[aria-invalid="true"] { border-color: #a01d12; border-width: 2px; }
.progress { font-weight: 600; color: #2d2d2d; }
.hops { list-style: none; padding: 0; margin: .5rem 0 0; }
.hop { border: 1px solid #d6d6d6; border-left-width: .4rem; border-radius: .4rem; padding: .6rem .8rem; margin: .5rem 0; background: #fff; }
.hop-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .2rem .5rem; }
.mark { font-weight: 700; width: 1.2rem; text-align: center; flex: none; }
.state { font-weight: 600; font-size: .9rem; padding: 0 .4rem; border-radius: .3rem; }
.plain { color: #4a4a4a; font-size: .9rem; }
.finding { margin: .5rem 0 0; padding: .4rem 0 0; border-top: 1px dashed #d6d6d6; }
.finding:first-child { border-top: 0; padding-top: 0; }
.summary { overflow-wrap: anywhere; }
.fix { background: #fffbe6; border-radius: .3rem; padding: .4rem .6rem; overflow-wrap: anywhere; }
.changed { color: #7a4b00; font-size: .9rem; }
details { margin: .3rem 0; }
summary { cursor: pointer; color: #0b57d0; min-height: 1.5rem; }
details ul { margin: .3rem 0; padding-left: 1.2rem; font-size: .9rem; overflow-wrap: anywhere; }
[data-status="ok"] { border-left-color: #1e7b3a; }
[data-status="ok"] .mark, [data-status="ok"] > .hop-head .state { color: #14612c; }
[data-status="ok"] > .hop-head .state { background: #e6f4ea; }
[data-status="warn"] { border-left-color: #b06d00; }
[data-status="warn"] .mark, [data-status="warn"] > .hop-head .state { color: #6b4200; }
[data-status="warn"] > .hop-head .state { background: #fff1cc; }
[data-status="fail"] { border-left-color: #c5221f; }
[data-status="fail"] .mark, [data-status="fail"] > .hop-head .state { color: #a01d12; }
[data-status="fail"] > .hop-head .state { background: #fdecea; }
[data-status="skip"], [data-status="checking"], [data-status="checked"] { border-left-color: #8a8a8a; }
[data-status="skip"] > .hop-head .state, [data-status="checking"] > .hop-head .state, [data-status="checked"] > .hop-head .state { background: #efefef; color: #3d3d3d; }
.verdict { font-weight: 700; font-size: 1.1rem; padding: .6rem .8rem; border-radius: .4rem; margin-top: .8rem; border: 1px solid; }
.verdict[data-status="ok"] { background: #e6f4ea; color: #14612c; }
.verdict[data-status="warn"] { background: #fff1cc; color: #6b4200; }
.verdict[data-status="fail"] { background: #fdecea; color: #a01d12; }
.action { margin: .8rem 0; padding: .6rem 0; border-top: 1px solid #e3e3e3; }
.action:first-of-type { border-top: 0; }
.what { color: #2d2d2d; font-size: .95rem; }
.outcome { margin-top: .8rem; }
.outcome:empty { display: none; }
.result { border: 1px solid #d6d6d6; border-radius: .4rem; padding: .6rem .8rem; margin: .5rem 0; overflow-wrap: anywhere; }
.result[data-status="ok"] { border-color: #1e7b3a; background: #f3faf5; }
.result[data-status="warn"] { border-color: #b06d00; background: #fffaeb; }
.result[data-status="fail"] { border-color: #c5221f; background: #fef5f4; }
.give { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .4rem 0; }
.give code { font-size: 1.05rem; padding: .2rem .4rem; }
.kept-list { padding-left: 1.2rem; font-size: .95rem; }
.table { font-size: .9rem; }
.table ul { margin: .2rem 0; padding-left: 1.2rem; }
footer { padding-bottom: 2rem; }
.stopped { font-weight: 700; }
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@media (min-width: 40rem) { h1 { font-size: 1.8rem; } }
`;
