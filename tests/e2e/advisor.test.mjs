// End-to-end: the advisor points out anti-patterns as they are typed in the built playground.
// Run alone with: node --test tests/e2e/  (after scripts/web-build.sh)
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite, openPlayground, shot, type } from "./harness.mjs";

const site = useSite();

test("SET x 1 and KEYS * on a filled keyspace bring advice, and the advisor can be turned off", async () => {
  const { context, page, errors } = await openPlayground(site.browser, site.url);
  const advisor = page.getByRole("complementary", { name: "Advisor" });
  // 1,500 namespaced keys, written by a script in one command.
  await type(page, `EVAL "for i=1,1500 do redis.call('SET','user:'..i,i) end" 0`);
  await page.getByRole("region", { name: "Keyspace" }).getByText("1500 of 1500 keys").waitFor();
  assert.equal(await advisor.count(), 0, "nothing to say yet");

  await type(page, "SET x 1");
  await advisor.getByText(/Key 'x' has no namespace/).waitFor();

  await type(page, "KEYS *");
  await advisor.getByText(/KEYS walked 1,501 keys/).waitFor();
  assert.match(await advisor.innerText(), /SCAN 0 MATCH \* COUNT 100/);
  assert.match(await advisor.innerText(), /1 earlier/);
  await shot(page, "advisor-01-keys-on-a-large-keyspace");

  // Dismissed, the card goes; turned off, it stays off after a reload.
  await advisor.getByRole("button", { name: "Dismiss advice" }).click();
  await advisor.waitFor({ state: "detached" });
  await type(page, "SET page:home html");
  await advisor.getByText(/Cache entry 'page:home' has no TTL/).waitFor();
  await advisor.getByRole("button", { name: "Turn off" }).click();
  await advisor.getByRole("button", { name: "Advisor: off" }).waitFor();
  await page.reload();
  await page.getByRole("textbox", { name: "Command" }).first().waitFor();
  await advisor.getByRole("button", { name: "Advisor: off" }).waitFor();
  assert.doesNotMatch(await advisor.innerText(), /no TTL/);
  assert.deepEqual(errors, []);
  await context.close();
});
