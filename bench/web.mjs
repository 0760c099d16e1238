// Measures the playground as built in dist/ (scripts/web-build.sh), in headless Chromium:
//   1. gzipped size of the wasm and its JS glue                        (target < 400 KB)
//   2. time from navigation to an interactive console                  (target < 500 ms)
//   3. time to render one clock step with 100,000 keys: the reducer and Yew's DOM update, then
//      the browser's style and layout of it                           (target < 16 ms)
//   4. rewinding a session of 10,000 steps (opened from a share link): to its start, to its
//      middle, and back to its end along the Timeline
// Measured, not asserted: it prints the numbers (and writes bench/results/web.json). On a busy
// machine, run it under `nice -n -10` (as root) so that the browser is not starved by others.
//   node bench/web.mjs [--keys 100000] [--runs 5]
import { readdir, readFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { deflateRawSync, gzipSync } from "node:zlib";
import { serve, launch, DIST, ROOT } from "../tests/e2e/harness.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const KEYS = arg("keys", 100_000);
const RUNS = arg("runs", 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${ms.toFixed(1)} ms`;
const results = {};

// 1. Download size.
let gz = 0;
let raw = 0;
for (const f of await readdir(DIST)) {
  if (f.endsWith(".wasm") || f.endsWith(".js")) {
    const body = await readFile(join(DIST, f));
    raw += body.length;
    gz += gzipSync(body, { level: 9 }).length;
  }
}
results.size = { raw_bytes: raw, gzip_bytes: gz };
console.log(`size: wasm+js ${(raw / 1024).toFixed(0)} KB, gzipped ${(gz / 1024).toFixed(1)} KB (target < 400 KB)`);

const server = await serve();
const browser = await launch();

// 2. Navigation to an interactive console: when the Command box first exists, measured in the
// page against navigation start, on a fresh profile each run (no cache, no saved session).
const startup = [];
for (let i = 0; i < RUNS; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.addInitScript(() => {
    const seen = () => {
      if (!window.__interactiveAt && document.querySelector("input[aria-label='Command']")) {
        window.__interactiveAt = performance.now();
      }
    };
    new MutationObserver(seen).observe(document, { childList: true, subtree: true });
  });
  await page.goto(server.url);
  await page.waitForFunction(() => window.__interactiveAt);
  startup.push(await page.evaluate(() => window.__interactiveAt));
  await context.close();
}
results.startup_ms = { median: median(startup), runs: startup };
console.log(`startup: interactive console after ${fmt(median(startup))} (median of ${RUNS}: ${startup.map((x) => x.toFixed(0)).join(", ")}) (target < 500 ms)`);

// 3. A clock step with KEYS keys: MSET batches typed into the console, a few keys with a TTL
// (sorted first, so their bars are on screen), then "+1s" and "Step" pressed repeatedly.
{
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(server.url);
  const input = page.getByRole("textbox", { name: "Command" }).first();
  await input.waitFor();
  const t0 = Date.now();
  const batch = 1000;
  for (let start = 0; start < KEYS; start += batch) {
    const parts = ["MSET"];
    for (let k = start; k < Math.min(KEYS, start + batch); k++) {
      parts.push(`key:${String(k).padStart(6, "0")}`, "v");
    }
    await input.fill(parts.join(" "));
    await input.press("Enter");
  }
  for (let k = 0; k < 30; k++) {
    await input.fill(`SET a:ttl:${k} x EX ${10 + k * 5}`);
    await input.press("Enter");
  }
  const dbsize = await page.evaluate(async () => {
    const i = document.querySelector("input[aria-label='Command']");
    return i ? document.querySelector("section[aria-label='Keyspace'] .count").textContent : "";
  });
  results.populate_s = (Date.now() - t0) / 1000;
  console.log(`populate: ${dbsize} in ${results.populate_s.toFixed(1)} s`);

  const measure = (label) =>
    page.evaluate(async (label) => {
      const button = document.querySelector(`button[aria-label='${label}']`);
      const clock = document.querySelector("output[aria-label='Clock']");
      const times = [];
      for (let i = 0; i < 20; i++) {
        const before = clock.textContent;
        await new Promise((r) => requestAnimationFrame(() => r()));
        const t0 = performance.now();
        const updated = new Promise((resolve) => {
          const obs = new MutationObserver(() => {
            if (clock.textContent !== before) {
              obs.disconnect();
              const script = performance.now();
              // Force style and layout now, so the time includes what the browser must do
              // before it can paint the step.
              void document.body.offsetHeight;
              resolve([script, performance.now()]);
            }
          });
          obs.observe(clock, { childList: true, characterData: true, subtree: true });
        });
        button.click();
        const [t1, t2] = await updated;
        // The frame that shows it: after its requestAnimationFrame callbacks, style, layout and
        // paint, the first task to run.
        const t3 = await new Promise((r) =>
          requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)),
        );
        times.push({ update: t1 - t0, layout: t2 - t0, frame: t3 - t0 });
      }
      return times;
    }, label);
  for (const label of ["+1s", "Step"]) {
    const times = await measure(label);
    const update = median(times.map((t) => t.update));
    const layout = median(times.map((t) => t.layout));
    const frame = median(times.map((t) => t.frame));
    results[`clock_step_${label}`] = { update_ms: update, update_and_layout_ms: layout, frame_shown_ms: frame };
    console.log(
      `clock step "${label}" with ${KEYS} keys: model + DOM update ${fmt(update)}, + style and layout ${fmt(layout)} (target < 16 ms), frame shown after ${fmt(frame)} (medians of 20)`,
    );
  }
  // Rewinds along the Timeline: to just after the keys were written, back to the end, and to
  // the middle of the writes (each restores a snapshot of 100,000 keys and replays from it).
  await page.waitForTimeout(600); // lets the idle snapshot be taken
  const rewinds = await page.evaluate(async () => {
    const slider = document.querySelector("input[aria-label='Timeline']");
    const clock = document.querySelector("output[aria-label='Clock']");
    const out = {};
    for (const [name, to] of [["after the writes", 131], ["back to the end", Number(slider.max)], ["into the writes", 50]]) {
      const t0 = performance.now();
      slider.value = String(to);
      slider.dispatchEvent(new Event("input", { bubbles: true }));
      await new Promise((r) => setTimeout(r, 0));
      void document.body.offsetHeight;
      out[name] = { ms: performance.now() - t0, clock: clock.textContent };
    }
    return out;
  });
  results.rewind = rewinds;
  for (const [name, r] of Object.entries(rewinds)) {
    console.log(`timeline: seek ${name} (${r.clock}) in ${fmt(r.ms)}`);
  }
  await page.screenshot({ path: join(ROOT, "tests/e2e/artifacts/bench-100k.png") }).catch(() => {});
  await context.close();
}

// 4. A session of 10,000 steps, as a learner's long session or a workshop's would be: the
// everyday commands on a few hundred keys, the clock moved every tenth step. It is opened from a
// share link (the page replays all of it, with snapshots along the way), then the Timeline is
// dragged to the start, the middle and the end, each seek timed until the page has laid out.
{
  const STEPS = 10_000;
  const commands = [
    (i) => `SET page:${i % 500} v${i} EX 30`,
    (i) => `GET page:${(i * 7) % 500}`,
    () => "INCR hits",
    (i) => `ZADD board ${i} player:${i % 200}`,
    (i) => `HSET session:${i % 100} seen ${i}`,
    (i) => `LPUSH queue job:${i}`,
    () => "RPOP queue",
    (i) => `SADD online user:${i % 300}`,
    (i) => `EXPIRE session:${i % 100} 60`,
  ];
  const steps = [];
  let clock = 0;
  for (let i = 0; i < STEPS; i++) {
    if (i % 10 === 9) {
      clock += 250;
      steps.push({ t: "time", to: clock });
    } else {
      steps.push({ t: "cmd", pane: 0, line: commands[i % commands.length](i) });
    }
  }
  const session = { format: 1, seed: 1, clients: ["A"], steps, cursor: STEPS, clock_ms: clock, speed: 1 };
  const fragment = deflateRawSync(Buffer.from(JSON.stringify(session)), { level: 9 }).toString("base64url");
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const t0 = Date.now();
  await page.goto(`${server.url}#s=${fragment}`);
  await page.waitForFunction(
    (max) => document.querySelector("input[aria-label='Timeline']")?.max === String(max),
    STEPS,
    { timeout: 120_000 },
  );
  const opened = (Date.now() - t0) / 1000;
  await page.waitForTimeout(600); // lets the idle snapshots be taken
  const seeks = await page.evaluate(async (max) => {
    const slider = document.querySelector("input[aria-label='Timeline']");
    const clock = document.querySelector("output[aria-label='Clock']");
    const out = [];
    for (const [name, to] of [["to the start", 0], ["to the middle", max / 2], ["back to the end", max], ["to the start again", 0], ["to the end again", max]]) {
      const t = performance.now();
      slider.value = String(to);
      slider.dispatchEvent(new Event("input", { bubbles: true }));
      await new Promise((r) => setTimeout(r, 0));
      void document.body.offsetHeight;
      out.push({ name, step: to, ms: performance.now() - t, clock: clock.textContent });
    }
    return out;
  }, STEPS);
  results.session_10k = { steps: STEPS, link_bytes: fragment.length, opened_s: opened, seeks };
  console.log(`session of ${STEPS} steps: share link of ${(fragment.length / 1024).toFixed(0)} KB opened and replayed in ${opened.toFixed(1)} s`);
  for (const s of seeks) {
    console.log(`timeline: rewind ${s.name} (step ${s.step}, ${s.clock}) in ${fmt(s.ms)}`);
  }
  await context.close();
}

await browser.close();
await server.close();
await mkdir(join(ROOT, "bench/results"), { recursive: true });
await writeFile(join(ROOT, "bench/results/web.json"), JSON.stringify(results, null, 2));
