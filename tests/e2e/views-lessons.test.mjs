// End-to-end: the pattern views beside the cache-aside, expiry, eviction, persistence,
// pub/sub-and-streams and Lua lessons appear in the centre, named by their aria-label, and show
// what the lesson played.
// Run alone with: node --test tests/e2e/views-lessons.test.mjs  (after scripts/web-build.sh)
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite, openPlayground, shot } from "./harness.mjs";

const site = useSite();

/** Opens lesson `id` and presses Next step `steps` times; returns the page and its view. */
async function stepLesson(id, steps, label) {
  const { context, page, errors } = await openPlayground(site.browser, site.url);
  await page.getByRole("combobox", { name: "Scenario" }).selectOption(id);
  const lesson = page.getByRole("region", { name: "Lesson" });
  const count = lesson.getByRole("status");
  await count.filter({ hasText: /^Step 0 of \d+$/ }).waitFor();
  const next = lesson.getByRole("button", { name: "Next step" });
  for (let i = 1; i <= steps; i++) {
    await next.click();
    await count.filter({ hasText: new RegExp(`^Step ${i} of`) }).waitFor();
  }
  const view = page.getByRole("region", { name: label });
  await view.waitFor();
  return { context, page, errors, view };
}

const cases = [
  {
    id: "cache-aside",
    steps: 5,
    label: "Cache-aside view",
    expect: [/8 misses/, /a stampede/, /the others waited/],
  },
  { id: "expiry", steps: 2, label: "Expiry view", expect: [/Last active cycle/, /removed when a command touched it/] },
  { id: "eviction", steps: 2, label: "Eviction view", expect: [/allkeys-lru/, /exact LRU would have evicted/] },
  { id: "persistence", steps: 4, label: "Persistence view", expect: [/SET order:5 paid/, /lost in the crash/, /AOF fsynced/] },
  { id: "pubsub-streams", steps: 3, label: "Pub/sub and streams view", expect: [/missed \(away\)/, /flash sale/] },
  { id: "lua", steps: 2, label: "Lua view", expect: [/redis\.call SET flag over/, /Call 3 of 3/] },
];

for (const c of cases) {
  test(`the ${c.id} lesson shows its view`, async () => {
    const { context, page, errors, view } = await stepLesson(c.id, c.steps, c.label);
    for (const re of c.expect) {
      await view.getByText(re).first().waitFor();
    }
    const box = await view.boundingBox();
    assert.ok(box && box.width > 200 && box.height > 150, `the view takes the centre, got ${JSON.stringify(box)}`);
    await shot(page, `20-view-${c.id}`);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test("the Lua view steps back through the calls and the eviction view through the rounds", async () => {
  {
    const { context, page, errors, view } = await stepLesson("lua", 2, "Lua view");
    await view.getByText("Call 3 of 3").waitFor();
    assert.match(await view.locator(".pv-source li.current").innerText(), /redis\.call\('SET'/, "the SET is on line 3");
    await view.getByRole("button", { name: "◀ Previous call" }).click();
    await view.getByText("Call 2 of 3").waitFor();
    assert.match(await view.locator(".pv-calls li.current").innerText(), /INCRBY counter 6/);
    assert.match(await view.locator(".pv-source li.current").innerText(), /INCRBY/, "the INCRBY is on line 1");
    await view.getByRole("button", { name: "◀ Previous call" }).click();
    await view.getByText("Call 1 of 3").waitFor();
    assert.ok(await view.getByRole("button", { name: "◀ Previous call" }).isDisabled());
    assert.deepEqual(errors, []);
    await context.close();
  }
  {
    const { context, page, errors, view } = await stepLesson("eviction", 2, "Eviction view");
    await view.getByRole("button", { name: "First round" }).click();
    await view.getByText(/^Round 1 of \d+/).waitFor();
    await view.getByRole("button", { name: "Later round ▶" }).click();
    await view.getByText(/^Round 2 of \d+/).waitFor();
    await shot(page, "21-view-eviction-round");
    assert.deepEqual(errors, []);
    await context.close();
  }
});
