// End-to-end: a guided lesson in the built playground, and the same lesson embedded.
// Run alone with: node --test tests/e2e/  (after scripts/web-build.sh)
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite, openPlayground, shot } from "./harness.mjs";

const site = useSite();

test("the cache-aside lesson steps through to the end, filling the keyspace", async () => {
  const { context, page, errors } = await openPlayground(site.browser, site.url);
  await page.getByRole("combobox", { name: "Scenario" }).selectOption("cache-aside");
  const lesson = page.getByRole("region", { name: "Lesson" });
  const narration = lesson.getByLabel("Narration");
  const count = lesson.getByRole("status");
  await count.filter({ hasText: /^Step 0 of \d+$/ }).waitFor();
  const total = Number((await count.innerText()).match(/of (\d+)/)[1]);
  assert.ok(total >= 3, `a lesson of several steps, got ${total}`);

  const keys = page.getByRole("region", { name: "Keyspace" }).getByRole("listitem");
  assert.equal(await keys.count(), 0, "the lesson starts on an empty keyspace");
  const next = lesson.getByRole("button", { name: "Next step" });
  let before = await narration.innerText();
  let changed = 0;
  let sawKey = false;
  for (let i = 1; i <= total; i++) {
    await next.click();
    await count.filter({ hasText: `Step ${i} of ${total}` }).waitFor();
    const now = await narration.innerText();
    if (now !== before) changed++;
    before = now;
    sawKey ||= (await keys.count()) > 0;
  }
  assert.ok(changed >= total - 1, `the narration changes from step to step (${changed} of ${total})`);
  assert.ok(sawKey, "a key appears in the keyspace");
  assert.ok(await next.isDisabled(), "Next step stops at the end");

  // The last step is the learner's turn: the checks follow what is typed.
  const checks = lesson.getByRole("list", { name: "Checks" }).getByRole("listitem");
  assert.equal(await checks.count(), 3);
  assert.equal(await lesson.locator(".checks li.pass").count(), 1, "only the TTL bound holds before");
  const input = page.getByRole("textbox", { name: "Command" }).first();
  await input.fill(`SET user:7 "{\\"name\\":\\"Grace\\"}" PX 1500`);
  await input.press("Enter");
  await lesson.locator(".checks li.pass").nth(2).waitFor();
  assert.equal(await lesson.locator(".checks li.fail").count(), 0);
  await keys.filter({ hasText: "user:7" }).waitFor();
  await shot(page, "10-lesson-cache-aside");

  // Progress is kept: the picker marks the lesson done, and a reload remembers it.
  const option = page.getByRole("combobox", { name: "Scenario" }).locator('option[value="cache-aside"]');
  assert.match(await option.innerText(), /^✓/);
  await page.goto(`${site.url}?scenario=cache-aside`);
  await page.getByRole("region", { name: "Lesson" }).waitFor();
  assert.match(await option.innerText(), /^✓/);

  // Leaving the lesson brings the free playground back.
  await page.getByRole("combobox", { name: "Scenario" }).selectOption("");
  await page.getByRole("region", { name: "Narration" }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test("a lesson embeds at 720×420 with its panel, pattern view and step controls", async () => {
  const context = await site.browser.newContext({ viewport: { width: 720, height: 420 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${site.url}?embed=1&scenario=leaderboard`);
  const lesson = page.getByRole("region", { name: "Lesson" });
  await lesson.getByRole("button", { name: "Next step" }).click();
  await lesson.getByRole("status").filter({ hasText: /^Step 1 of/ }).waitFor();
  const view = page.getByRole("region", { name: "Leaderboard view" });
  await view.filter({ hasText: "carol" }).waitFor();
  assert.equal(await page.getByRole("region", { name: "Keyspace" }).count(), 0, "no keyspace");
  const box = await view.boundingBox();
  assert.ok(box.x + box.width <= 720 && box.y + box.height <= 420, `the view fits: ${JSON.stringify(box)}`);
  assert.equal(await page.getByRole("textbox", { name: "Command" }).count(), 0, "no consoles");
  assert.equal(await page.getByRole("combobox", { name: "Scenario" }).count(), 0, "no top bar");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 720, `fits the frame's width, got ${width}`);
  await shot(page, "11-lesson-embed");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the lesson player jumps from its outline and plays on its own at a chosen speed", async () => {
  const { context, page, errors } = await openPlayground(site.browser, `${site.url}?scenario=lock`);
  const lesson = page.getByRole("region", { name: "Lesson" });
  const count = lesson.getByRole("status").filter({ hasText: /^Step \d+ of \d+$/ });
  await count.filter({ hasText: /^Step 0 of/ }).waitFor();
  const total = Number((await count.innerText()).match(/of (\d+)/)[1]);

  // The outline lists the introduction and every step; a click jumps there.
  await lesson.getByText("All steps").click();
  const steps = lesson.getByRole("list", { name: "Steps" }).getByRole("listitem");
  assert.equal(await steps.count(), total + 1);
  await steps.nth(3).getByRole("button").click();
  await count.filter({ hasText: `Step 3 of ${total}` }).waitFor();
  assert.equal(await lesson.locator('.outline li[aria-current="step"]').count(), 1);
  assert.match(await lesson.locator('.outline li[aria-current="step"]').innerText(), /^3\. /);

  // The keyboard still steps: → and ← (focus away from the buttons).
  await page.locator("body").click({ position: { x: 2, y: 2 } });
  await page.keyboard.press("ArrowRight");
  await count.filter({ hasText: `Step 4 of ${total}` }).waitFor();
  await page.keyboard.press("ArrowLeft");
  await count.filter({ hasText: `Step 3 of ${total}` }).waitFor();

  // Play at 4×: the next step comes by itself within its reading time.
  await lesson.getByRole("combobox", { name: "Reading speed" }).selectOption("4");
  const play = lesson.locator("button.lesson-play");
  await play.click();
  assert.equal(await play.getAttribute("aria-pressed"), "true");
  await count.filter({ hasText: `Step 4 of ${total}` }).waitFor({ timeout: 15000 });
  // Space pauses it again.
  await page.locator("body").click({ position: { x: 2, y: 2 } });
  await page.keyboard.press(" ");
  await page.waitForFunction(
    () => document.querySelector("button.lesson-play")?.getAttribute("aria-pressed") === "false",
  );
  assert.deepEqual(errors, []);
  await context.close();
});

test("embed.html?scenario=lock opens the lesson framed at 720×420", async () => {
  const context = await site.browser.newContext({ viewport: { width: 720, height: 420 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${site.url}embed.html?scenario=lock`);
  const lesson = page.getByRole("region", { name: "Lesson" });
  await lesson.getByRole("heading", { name: /lock/i }).waitFor();
  assert.match(page.url(), /index\.html\?embed=1&scenario=lock$/);
  const next = lesson.getByRole("button", { name: "Next step" });
  assert.ok(await lesson.getByRole("button", { name: "Previous step" }).isVisible());
  assert.ok(await next.isVisible());
  await next.click();
  await lesson.getByRole("status").filter({ hasText: /^Step 1 of/ }).waitFor();
  await page.getByRole("region", { name: "Lock view" }).waitFor();
  assert.equal(await page.getByRole("combobox", { name: "Scenario" }).count(), 0, "no top bar");
  const size = await page.evaluate(() => ({
    width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
  }));
  assert.ok(size.width <= 720 && size.height <= 420, `fits 720×420, got ${JSON.stringify(size)}`);
  const box = await next.boundingBox();
  assert.ok(box && box.x + box.width <= 720 && box.y + box.height <= 420, "the controls are in the frame");
  await shot(page, "12-lesson-embed-html");
  assert.deepEqual(errors, []);
  await context.close();
});
