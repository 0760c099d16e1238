// End-to-end: each rate-limiting, lock, leaderboard and session lesson shows its pattern view
// in the centre while it is stepped, with what the lesson did drawn in it.
// Run alone with: node --test tests/e2e/views.test.mjs  (after scripts/web-build.sh)
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite, openPlayground, shot } from "./harness.mjs";

const site = useSite();

// (lesson, its view's label, steps to play, text the view then shows)
const VIEWS = [
  ["fixed-window", "Fixed window view", 3, /no TTL: this window never ends/],
  ["sliding-window", "Sliding window view", 4, /rl:alice/],
  ["token-bucket", "Token bucket view", 3, /of 3 tokens/],
  ["lock", "Lock view", 3, /held by C now/],
  ["redlock", "Redlock view", 4, /A and B both reached a majority/],
  ["leaderboard", "Leaderboard view", 2, /\+10/],
  ["session", "Session view", 3, /expired at 1 s after 1 s idle/],
];

for (const [id, label, steps, shows] of VIEWS) {
  test(`the ${id} lesson shows the ${label}`, async () => {
    const { context, page, errors } = await openPlayground(site.browser, `${site.url}?scenario=${id}`);
    const lesson = page.getByRole("region", { name: "Lesson" });
    const view = page.getByRole("region", { name: label });
    await view.waitFor();
    const next = lesson.getByRole("button", { name: "Next step" });
    for (let i = 1; i <= steps; i++) {
      await next.click();
      await lesson.getByRole("status").filter({ hasText: new RegExp(`^Step ${i} of`) }).waitFor();
    }
    await view.filter({ hasText: shows }).waitFor();
    const box = await view.boundingBox();
    assert.ok(box && box.width > 200 && box.height > 100, `the view has room: ${JSON.stringify(box)}`);
    // Let the views' transitions (a sliding bracket, a draining bar) settle before the picture.
    await page.waitForTimeout(700);
    await shot(page, `20-view-${id}`);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test("the leaderboard reorders when a score passes another", async () => {
  const { context, page, errors } = await openPlayground(site.browser, `${site.url}?scenario=leaderboard`);
  const lesson = page.getByRole("region", { name: "Lesson" });
  const view = page.getByRole("region", { name: "Leaderboard view" });
  const next = lesson.getByRole("button", { name: "Next step" });
  const board = view.locator(".lb-board").first();
  const top = async () => {
    // Rows are placed by `top`, so the visual order is the order of their offsets.
    const rows = await board.locator(".lb-row").evaluateAll((els) =>
      els.map((e) => [parseInt(e.style.top, 10), e.querySelector(".lb-name").textContent]),
    );
    return rows.sort((a, b) => a[0] - b[0]).map((r) => r[1]);
  };
  await next.click();
  await view.filter({ hasText: "carol" }).waitFor();
  assert.deepEqual(await top(), ["carol", "alice", "bob", "dave"]);
  for (let i = 2; i <= 4; i++) await next.click();
  await lesson.getByRole("status").filter({ hasText: /^Step 4 of/ }).waitFor();
  await view.filter({ hasText: "+25" }).waitFor();
  assert.deepEqual(await top(), ["bob", "carol", "alice", "dave"]);
  assert.deepEqual(errors, []);
  await context.close();
});
