// End-to-end: workshop mode, an instructor's own lesson opened from a .scn file and from a link
// that carries it, with progress kept in the browser, and damaged files and links refused.
// Run alone with: node --test tests/e2e/  (after scripts/web-build.sh)
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite, openPlayground, shot } from "./harness.mjs";

const site = useSite();

import { deflateRawSync } from "node:zlib";

const LESSON = `cachelab-scenario 1
id: page-views
title: Counting page views
summary: INCR makes a counter that many servers can bump at once.
view: keyspace
clients: A

step: A counter
> \`INCR\` creates the key at 0 if needed and adds one.
A: INCR views:home
expect A: (integer) 1

try: Your turn
> Count a view of the about page.
check: exists views:about
solution A: INCR views:about
`;

// What an instructor's script would make: the file deflated, in base64url.
const linkTo = (text) => `${site.url}#lesson=${deflateRawSync(Buffer.from(text)).toString("base64url")}`;

/** Steps to the try step, passes it, and waits for its tick in the outline. */
async function passTryStep(page) {
  const lesson = page.getByRole("region", { name: "Lesson" });
  const count = lesson.getByRole("status").filter({ hasText: /^Step \d+ of \d+$/ });
  await lesson.getByRole("button", { name: "Next step" }).click();
  await count.filter({ hasText: "Step 1 of 2" }).waitFor();
  await lesson.getByRole("button", { name: "Next step" }).click();
  await count.filter({ hasText: "Step 2 of 2" }).waitFor();
  assert.equal(await lesson.locator(".checks li.fail").count(), 1);
  const input = page.getByRole("textbox", { name: "Command" }).first();
  await input.fill("INCR views:about");
  await input.press("Enter");
  await lesson.locator(".checks li.pass").waitFor();
  await lesson.locator(".outline .tick").waitFor({ state: "attached" });
}

const ticks = (page) => page.getByRole("region", { name: "Lesson" }).locator(".outline .tick");

test("a lesson file opens, keeps its progress over a reload, and gives a link that reopens it", async () => {
  const { context, page, errors } = await openPlayground(site.browser, site.url);
  const opener = page.getByLabel("Open scenario file");
  await opener.setInputFiles({ name: "page-views.scn", mimeType: "text/plain", buffer: Buffer.from(LESSON) });
  const lesson = page.getByRole("region", { name: "Lesson" });
  await lesson.getByRole("heading", { name: "Counting page views" }).waitFor();
  assert.match(
    await page.getByRole("combobox", { name: "Scenario" }).locator("option:checked").innerText(),
    /Counting page views/,
  );
  await passTryStep(page);
  await shot(page, "40-workshop-file");

  // A reload restores the session, the instructor's lesson in it, and its progress.
  await page.reload();
  await lesson.getByRole("heading", { name: "Counting page views" }).waitFor();
  await ticks(page).waitFor({ state: "attached" });
  assert.equal(await ticks(page).count(), 1);

  // The lesson link carries the file; opened in this browser it finds the same progress.
  await lesson.getByRole("button", { name: "Copy lesson link" }).click();
  const url = await lesson.getByRole("textbox", { name: "Lesson link" }).inputValue();
  assert.match(url, /#lesson=[A-Za-z0-9_-]+$/);
  const again = await context.newPage();
  await again.goto(url);
  await again.getByRole("region", { name: "Lesson" }).getByRole("heading", { name: "Counting page views" }).waitFor();
  await ticks(again).waitFor({ state: "attached" });

  // A file with a mistake is refused line by line; the open lesson stays.
  await opener.setInputFiles({
    name: "broken.scn",
    mimeType: "text/plain",
    buffer: Buffer.from(LESSON.replace("view: keyspace", "view: kyespace")),
  });
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.innerText(), /broken\.scn: line 5: /);
  await lesson.getByRole("heading", { name: "Counting page views" }).waitFor();
  // And one too large to be a lesson, before it is read.
  await alert.getByRole("button", { name: "Dismiss" }).click();
  await opener.setInputFiles({ name: "huge.scn", mimeType: "text/plain", buffer: Buffer.alloc(2 << 20, 35) });
  await alert.filter({ hasText: /too large/ }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test("a lesson link opens the lesson, keeps progress per text, and embeds", async () => {
  const { context, page, errors } = await openPlayground(site.browser, linkTo(LESSON));
  const lesson = page.getByRole("region", { name: "Lesson" });
  await lesson.getByRole("heading", { name: "Counting page views" }).waitFor();
  assert.equal(await ticks(page).count(), 0);
  await passTryStep(page);

  // The link stays in the address bar: a reload reopens the lesson with its progress.
  await page.reload();
  await lesson.getByRole("heading", { name: "Counting page views" }).waitFor();
  await ticks(page).waitFor({ state: "attached" });

  // Another file with the same id is another lesson: its progress is its own.
  const other = await context.newPage();
  await other.goto(linkTo(LESSON.replace("Count a view", "Now count a view")));
  await other.getByRole("region", { name: "Lesson" }).getByRole("heading", { name: "Counting page views" }).waitFor();
  assert.equal(await ticks(other).count(), 0);

  // Embedded: the lesson panel and the view, no top bar.
  const embed = await context.newPage();
  await embed.setViewportSize({ width: 720, height: 420 });
  await embed.goto(`${site.url}embed.html${new URL(linkTo(LESSON)).hash}`);
  const framed = embed.getByRole("region", { name: "Lesson" });
  await framed.getByRole("heading", { name: "Counting page views" }).waitFor();
  assert.equal(await embed.getByRole("combobox", { name: "Scenario" }).count(), 0, "no top bar");
  const width = await embed.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 720, `fits the frame's width, got ${width}`);
  await shot(embed, "41-workshop-embed");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a garbled or truncated lesson link says so and the playground keeps working", async () => {
  const full = linkTo(LESSON);
  for (const url of [`${site.url}#lesson=not*base64`, full.slice(0, full.length - 20)]) {
    const { context, page, errors } = await openPlayground(site.browser, url);
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /lesson link is damaged/);
    assert.equal(await page.getByRole("region", { name: "Lesson" }).count(), 0);
    const input = page.getByRole("textbox", { name: "Command" }).first();
    await input.fill("PING");
    await input.press("Enter");
    await page.getByRole("log", { name: "Console output" }).first().getByText("PONG").waitFor();
    assert.deepEqual(errors, []);
    await context.close();
  }
});
