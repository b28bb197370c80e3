/**
 * The local page (`porthole ui`), in Debian's Chromium driven by playwright-core: how soon the page
 * paints after the command prints its address, how soon the checklist's first hop shows after
 * "Check" is pressed, and how many bytes its script and styles are. The command is the built bundle
 * (what `bin` runs), on loopback only: PORTHOLE_ONLY_GATEWAYS keeps discovery off this machine's
 * real router, no checker or STUN server is configured, and the configuration is a fresh folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UI_PAGE_HTML, UI_STYLE, uiScript } from '../src/ui/index.js';
import { launchLabChromium } from '../test/lab/fixtures/labChromium.js';
import { median, ms } from './measure.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BUNDLE = join(ROOT, 'dist/cli/main.js');
/** Rounds, each a fresh `porthole ui` and a fresh browser context (bounded). */
const ROUNDS = 7;
/** The goals. */
const GOAL = { paintMs: 300, firstHopMs: 200, assetBytes: 100 * 1024 } as const;

/** Starts the built `porthole ui --no-open`; resolves with the process and, when it printed its address, the moment (epoch ms). */
function startUi(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; printedAt: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUNDLE, 'ui', '--no-open'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`porthole ui printed no address in 10 s: ${text}`));
    }, 10_000);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      text += chunk;
      const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+/.exec(text)?.[0];
      if (!url) return;
      clearTimeout(timer);
      child.stderr?.removeAllListeners('data');
      child.stderr?.resume();
      resolve({ child, url, printedAt: performance.timeOrigin + performance.now() });
    });
    child.once('error', reject);
  });
}

/** Ends `porthole ui` as Ctrl-C does and waits for it (bounded: 5 s, then SIGKILL). */
async function stopUi(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The local page's section for docs/BENCHMARKS.md. */
export async function benchUi(): Promise<string> {
  const folder = mkdtempSync(join(tmpdir(), 'porthole-bench-ui-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: folder,
    XDG_CONFIG_HOME: join(folder, 'config'),
    XDG_STATE_HOME: join(folder, 'state'),
    PORTHOLE_ONLY_GATEWAYS: '192.168.77.0/24',
  };
  const paint: number[] = [];
  const firstHop: number[] = [];
  const browser = await launchLabChromium();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // The tab is open before porthole ui starts: the measure is porthole's page, not the browser's new tab.
      const context = await browser.newContext();
      const page = await context.newPage();
      const { child, url, printedAt } = await startUi(env);
      try {
        await page.goto(url, { waitUntil: 'load' });
        // The first contentful paint, on the page's own clock, made absolute (both clocks are this machine's).
        const painted = await page.evaluate(async () => {
          const clock = globalThis.performance;
          for (let i = 0; i < 100; i++) {
            const entry = clock.getEntriesByName('first-contentful-paint')[0];
            if (entry) return clock.timeOrigin + entry.startTime;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          return Number.NaN;
        });
        paint.push(painted - printedAt);
        await page.getByLabel('Port number, or the path of a ports table file').fill('7001');
        // Pressed and watched inside the page: from the click to the first hop in the list.
        firstHop.push(
          await page.evaluate(
            () =>
              new Promise<number>((resolve, reject) => {
                // No DOM typings in this project: the few browser calls used, typed here.
                type Element = { children: { length: number }; click(): void };
                const browser = globalThis as unknown as {
                  document: { getElementById(id: string): Element };
                  MutationObserver: new (
                    callback: () => void,
                  ) => { observe(target: Element, options: object): void; disconnect(): void };
                };
                const list = browser.document.getElementById('hops');
                const started = performance.now();
                const seen = new browser.MutationObserver(() => {
                  if (list.children.length === 0) return;
                  seen.disconnect();
                  resolve(performance.now() - started);
                });
                seen.observe(list, { childList: true });
                setTimeout(() => reject(new Error('no hop within 10 s')), 10_000);
                browser.document.getElementById('check').click();
              }),
          ),
        );
        await page.locator('#verdict:not([hidden])').waitFor({ timeout: 30_000 });
      } finally {
        await context.close();
        await stopUi(child);
      }
    }
  } finally {
    await browser.close();
    rmSync(folder, { recursive: true, force: true });
  }
  const script = Buffer.byteLength(uiScript());
  const style = Buffer.byteLength(UI_STYLE);
  const html = Buffer.byteLength(UI_PAGE_HTML);
  const zipped = gzipSync(uiScript()).length + gzipSync(UI_STYLE).length;
  const within = (value: number, goal: number) => (value <= goal ? 'within' : 'over');
  const paintMedian = median(paint);
  const hopMedian = median(firstHop);
  return [
    '### The local page (porthole ui)',
    '',
    `Debian's Chromium (headless, playwright-core) and the built command (\`porthole ui --no-open\`, the bundle \`bin\` runs),`,
    `${ROUNDS} rounds, each a fresh \`porthole ui\` and a fresh browser context, on loopback only (PORTHOLE_ONLY_GATEWAYS keeps`,
    'discovery off the real router; no checker configured, so the check ends at this computer and the router).',
    '',
    '| measure | median | slowest | goal |',
    '| --- | --- | --- | --- |',
    `| first paint after the address is printed (the browser and a tab already open) | ${ms(paintMedian)} | ${ms(Math.max(...paint))} | ${GOAL.paintMs} ms (${within(paintMedian, GOAL.paintMs)}) |`,
    `| first hop of the checklist after "Check" is pressed | ${ms(hopMedian)} | ${ms(Math.max(...firstHop))} | ${GOAL.firstHopMs} ms (${within(hopMedian, GOAL.firstHopMs)}) |`,
    '',
    `Script and styles: ${(script / 1024).toFixed(1)} kB + ${(style / 1024).toFixed(1)} kB = ${((script + style) / 1024).toFixed(1)} kB (${(zipped / 1024).toFixed(1)} kB gzipped; not compressed on the wire) against ${GOAL.assetBytes / 1024} kB (${within(script + style, GOAL.assetBytes)}); the page's markup ${(html / 1024).toFixed(1)} kB. No framework.`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${await benchUi()}\n`);
