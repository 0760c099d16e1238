// End-to-end: what a learner does in the built playground (dist/), in headless Chromium.
// Run by scripts/web-test.sh (which builds dist/ first), or alone: node --test tests/e2e/
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { useSite, openPlayground, shot, type, ARTIFACTS } from "./harness.mjs";

const site = useSite();

function keyRow(page, name) {
  return page
    .getByRole("region", { name: "Keyspace" })
    .getByRole("listitem")
    .filter({ hasText: name });
}

test("a key with a TTL expires, comes back on rewind, and survives a reload", async () => {
  const { context, page, errors } = await openPlayground(site.browser, site.url);
  await type(page, "SET greeting hello EX 5");
  const output = page.getByRole("log", { name: "Console output" }).first();
  await output.getByText("OK", { exact: true }).waitFor();

  const row = keyRow(page, "greeting");
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, /greeting/);
  assert.match(text, /string/);
  assert.match(text, /TTL 5\.0s/);
  await shot(page, "01-key-with-ttl");

  await page.getByRole("button", { name: "+10s", exact: true }).click();
  await page.getByLabel("Clock", { exact: true }).filter({ hasText: "00:10.000" }).waitFor();
  await row.waitFor({ state: "detached" });
  const log = page.getByRole("log", { name: "Event log" });
  await log.getByText(/expired greeting/).first().waitFor();
  assert.ok((await log.locator(".k-expired").count()) >= 1, "an event of kind expired");
  // The event links to its key, whose history says why it is gone.
  await log.getByRole("button", { name: /expired greeting/ }).first().click();
  const inspector = page.getByRole("region", { name: "Inspector" });
  await inspector.getByText(/not in the keyspace/).waitFor();
  await page.getByRole("region", { name: "Key history" }).getByText(/expired greeting \(actively/).waitFor();
  await shot(page, "02-expired");

  // Rewind one step on the Timeline: the key is back, TTL and all.
  const slider = page.getByRole("slider", { name: "Timeline" });
  await slider.focus();
  await slider.press("ArrowLeft");
  await row.waitFor();
  assert.match(await row.innerText(), /TTL 5\.0s/);
  assert.match(await page.getByLabel("Clock", { exact: true }).innerText(), /00:00\.000/);
  await shot(page, "03-rewound");

  // Reload: the session (rewound position included) is restored from storage.
  await page.reload();
  await page.getByRole("textbox", { name: "Command" }).first().waitFor();
  await keyRow(page, "greeting").waitFor();
  assert.equal(await slider.getAttribute("aria-valuetext").then((v) => v.split(",")[0]), "step 1 of 2");
  await output.getByText("SET greeting hello EX 5").waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test("a garbled share link shows an error and the page still works", async () => {
  const { context, page, errors } = await openPlayground(site.browser, site.url + "#s=not-a-session!!");
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.innerText(), /damaged/);
  await type(page, "PING");
  await page.getByRole("log", { name: "Console output" }).first().getByText("PONG").waitFor();
  await shot(page, "04-garbled-link");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a share link opens the same session elsewhere", async () => {
  const { context, page } = await openPlayground(site.browser, site.url);
  await type(page, "SET shared:key 42");
  await keyRow(page, "shared:key").waitFor();
  await page.getByRole("button", { name: "Share", exact: true }).click();
  const link = await page.getByRole("textbox", { name: "Share link" }).inputValue();
  assert.match(link, /#s=[A-Za-z0-9_-]+$/);
  await context.close();

  const other = await openPlayground(site.browser, link);
  await keyRow(other.page, "shared:key").waitFor();
  assert.equal(await other.page.getByRole("alert").count(), 0);
  await other.context.close();
});

test("clients are separate connections; messages reach the subscriber's console", async () => {
  const { context, page } = await openPlayground(site.browser, site.url);
  await page.getByRole("button", { name: "Add client" }).click();
  const consoles = page.getByRole("textbox", { name: "Command" });
  assert.equal(await consoles.count(), 2);
  await type(page, "SUBSCRIBE news", 1);
  await type(page, "PUBLISH news hello", 0);
  const b = page.getByRole("region", { name: "Client B" }).getByRole("log", { name: "Console output" });
  await b.getByText('"hello"').waitFor();
  await page.getByRole("log", { name: "Event log" }).getByText(/published "hello" to news/).waitFor();

  // Hints and completion come from the command table.
  const input = consoles.first();
  await input.fill("EXPI");
  await input.press("Tab");
  assert.equal(await input.inputValue(), "EXPIRE");
  await input.fill("SET k v ");
  await page.getByRole("region", { name: "Client A" }).getByText(/summary|—/).first().waitFor();
  await shot(page, "05-two-clients");
  await context.close();
});

test("the layout stacks on a phone and has a dark theme", async () => {
  const { context, page } = await openPlayground(site.browser, site.url, { width: 390, height: 844 });
  await type(page, "SET phone:key hi EX 100");
  await keyRow(page, "phone:key").waitFor();
  const consoleBox = await page.getByRole("region", { name: "Client A" }).boundingBox();
  const keysBox = await page.getByRole("region", { name: "Keyspace" }).boundingBox();
  assert.ok(keysBox.y >= consoleBox.y + consoleBox.height - 1, "keyspace below the console");
  assert.ok(consoleBox.width <= 390);
  await shot(page, "06-phone");
  await context.close();

  const dark = await site.browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "dark" });
  const p = await dark.newPage();
  await p.goto(site.url);
  await p.getByRole("textbox", { name: "Command" }).first().waitFor();
  const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, "rgb(21, 23, 28)");
  await shot(p, "07-dark");
  await dark.close();
});

test("keyboard shortcuts, filters and the value view", async () => {
  const { context, page, errors } = await openPlayground(site.browser, site.url);
  await type(page, "SET user:1 alice");
  await type(page, "SET page:home '<h1>hi</h1>' PX 1500");
  await keyRow(page, "page:home").waitFor();
  const clock = page.getByLabel("Clock", { exact: true });

  // → steps one server tick, ← steps back along the timeline, space plays and pauses.
  await page.locator("body").click({ position: { x: 5, y: 790 } });
  await page.keyboard.press("ArrowRight");
  await clock.filter({ hasText: "00:00.100" }).waitFor();
  await page.keyboard.press("ArrowLeft");
  await clock.filter({ hasText: "00:00.000" }).waitFor();
  await page.keyboard.press("Space");
  await page.getByRole("button", { name: "Pause", exact: true }).waitFor();
  await clock.filter({ hasText: /00:0[1-9]\./ }).waitFor();
  await page.keyboard.press("Space");
  await page.getByRole("button", { name: "Play", exact: true }).waitFor();
  // A second and more of play: page:home (PX 1500) has gone, expired by the active cycle.
  await page.getByRole("button", { name: "+1s", exact: true }).click();
  await keyRow(page, "page:home").waitFor({ state: "detached" });

  // Filters: by pattern, by type, and the event log by kind.
  const keyspace = page.getByRole("region", { name: "Keyspace" });
  await type(page, "SET user:2 bob");
  await type(page, "SET other 1");
  await keyspace.getByRole("searchbox", { name: "Filter keys" }).fill("user:*");
  await keyRow(page, "other").waitFor({ state: "detached" });
  assert.equal(await keyspace.getByRole("listitem").count(), 2);
  await keyspace.getByRole("combobox", { name: "Type" }).selectOption("hash");
  assert.equal(await keyspace.getByRole("listitem").count(), 0);
  await keyspace.getByRole("combobox", { name: "Type" }).selectOption("");
  await page.getByRole("combobox", { name: "Event kind" }).selectOption("expired");
  const log = page.getByRole("log", { name: "Event log" });
  await log.getByText(/expired page:home/).waitFor();
  assert.equal(await log.locator(".k-keyspace").count(), 0);

  // Selecting a key lays out its value.
  await keyRow(page, "user:2").getByRole("button").click();
  const inspector = page.getByRole("region", { name: "Inspector" });
  await inspector.getByText("bob", { exact: true }).waitFor();
  assert.match(await inspector.innerText(), /embstr/);
  // An event about a key links to it.
  await page.getByRole("combobox", { name: "Event kind" }).selectOption("keyspace");
  await log.getByRole("button", { name: "set user:1" }).click();
  await inspector.getByText("alice", { exact: true }).waitFor();
  await shot(page, "08-filters-and-value");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a session exported to a file imports elsewhere; a damaged file is refused", async () => {
  const { context, page, errors } = await openPlayground(site.browser, site.url);
  await type(page, "SET exported yes EX 60");
  await page.getByRole("button", { name: "+10s", exact: true }).click();
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export", exact: true }).click(),
  ]);
  const file = join(ARTIFACTS, "session.json");
  await download.saveAs(file);
  await context.close();

  const other = await openPlayground(site.browser, site.url);
  const importer = other.page.getByLabel("Import session");
  await importer.setInputFiles(file);
  await keyRow(other.page, "exported").waitFor();
  assert.match(await keyRow(other.page, "exported").innerText(), /TTL 50\.0s/);
  assert.match(await other.page.getByLabel("Clock", { exact: true }).innerText(), /00:10\.000/);

  await importer.setInputFiles({ name: "broken.json", mimeType: "application/json", buffer: Buffer.from("{\"format\": 1, \"steps\": [") });
  const alert = other.page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.innerText(), /Could not open the session/);
  await keyRow(other.page, "exported").waitFor();
  assert.deepEqual([...errors, ...other.errors], []);
  await other.context.close();
});

test("a saved session whose replay never finished is set aside, not replayed again", async () => {
  const context = await site.browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(() => {
    if (!sessionStorage.getItem("seeded")) {
      sessionStorage.setItem("seeded", "1");
      localStorage.setItem("cachelab.session.v1", '{"format":1,"seed":1,"clients":["A"],"steps":[],"cursor":0,"clock_ms":0}');
      localStorage.setItem("cachelab.loading", "1");
    }
  });
  const page = await context.newPage();
  await page.goto(site.url);
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.innerText(), /could not be replayed last time/);
  assert.equal(await page.evaluate(() => localStorage.getItem("cachelab.loading")), null);
  await type(page, "PING");
  await page.getByRole("log", { name: "Console output" }).first().getByText("PONG").waitFor();
  await context.close();
});
