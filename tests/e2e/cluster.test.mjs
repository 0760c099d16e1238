// End-to-end: cluster mode in the built playground (`?cluster=3`), in headless Chromium.
// Run alone with: node --test tests/e2e/cluster.test.mjs  (after scripts/web-build.sh)
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite, openPlayground, shot, type } from "./harness.mjs";

const site = useSite();

test("?cluster=3: a console follows MOVED as redis-cli -c does, and the views follow", async () => {
  const { context, page, errors } = await openPlayground(site.browser, site.url + "?cluster=3", {
    width: 1440,
    height: 900,
  });
  const nodes = page.getByRole("region", { name: "Cluster nodes" });
  await nodes.getByRole("listitem").first().waitFor();
  assert.equal(await nodes.getByRole("listitem").count(), 3);
  const slots = page.getByRole("group", { name: "Cluster slots" });
  await slots.getByText("0-5460 (5461 slots)").waitFor();
  await slots.getByText("10923-16383 (5461 slots)").waitFor();
  await page.getByText("127.0.0.1:7000>", { exact: true }).waitFor();

  await type(page, "SET foo bar");
  const output = page.getByRole("log", { name: "Console output" }).first();
  await output.getByText("-> Redirected to slot [12182] located at 127.0.0.1:7002").waitFor();
  await output.getByText("OK", { exact: true }).waitFor();
  // The console stays on the node it was sent to.
  await page.getByText("127.0.0.1:7002>", { exact: true }).waitFor();
  const redirects = page.getByRole("group", { name: "Cluster redirects" });
  await redirects.getByText(/SET 127\.0\.0\.1:7000 → 127\.0\.0\.1:7002: MOVED slot 12182/).waitFor();
  await shot(page, "cluster-01-redirect");

  await type(page, "MSET a 1 b 2");
  await output.getByText("(error) CROSSSLOT Keys in request don't hash to the same slot").waitFor();

  // A hot key: one node takes nearly all the load and glows, naming the key.
  await type(page, "60 INCR hits");
  await output.getByText("(integer) 60").waitFor();
  await nodes.locator(".cluster-node.hot").waitFor();
  assert.match(await nodes.getByRole("status").innerText(), /hot: hits ×60/);
  await shot(page, "cluster-02-hot-key");
  assert.deepEqual(errors, []);
  await context.close();
});

test("with a replica per master and a lag, a failover loses the write and lists it", async () => {
  const { context, page, errors } = await openPlayground(site.browser, site.url + "?cluster=3&replicas=1", {
    width: 1440,
    height: 900,
  });
  const nodes = page.getByRole("region", { name: "Cluster nodes" });
  await nodes.getByRole("listitem").nth(5).waitFor();
  const repl = page.getByRole("region", { name: "Cluster replication" });
  await repl.getByRole("combobox", { name: "Replication lag" }).selectOption("5000");
  await type(page, "SET foo bar");
  await page.getByRole("log", { name: "Console output" }).first().getByText("OK", { exact: true }).waitFor();
  await repl.getByText("SET foo bar").first().waitFor();
  await shot(page, "cluster-03-write-on-its-way");

  await page.getByRole("button", { name: "Fail 127.0.0.1:7002" }).click();
  await page.getByRole("button", { name: "+10s", exact: true }).click();
  await page.getByRole("button", { name: "+10s", exact: true }).click();
  const lost = repl.getByRole("group", { name: "Lost writes" });
  await lost.getByText("SET foo bar").waitFor();
  assert.match(await lost.innerText(), /acknowledged by 127\.0\.0\.1:7002/);
  await page.getByRole("log", { name: "Cluster event log" }).getByText(/replaced 127\.0\.0\.1:7002 as master/).waitFor();
  await shot(page, "cluster-04-lost-writes");

  // Back to the single instance: its console answers as before.
  await page.getByRole("button", { name: "⬡ Cluster" }).click();
  await page.getByText("127.0.0.1:6379>", { exact: true }).waitFor();
  assert.equal(await page.getByRole("region", { name: "Cluster nodes" }).count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});
