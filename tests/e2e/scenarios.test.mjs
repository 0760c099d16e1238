// End-to-end: every shipped scenario (static/scenarios/*.scn, so a new file is covered without
// touching this test) opened in the built playground and walked with Next step to the end. At a
// "try it" step the step's solution (its `solution A: ...` lines) is typed into the consoles and
// every check must pass; no step may report a failure and the page may raise no error. The
// centre view (whatever region sits in the grid's centre area beside the lesson) is kept as
// tests/e2e/artifacts/scenarios/<id>/<step>.png at each step, 0 being the introduction.
// Run alone with: node --test tests/e2e/scenarios.test.mjs  (after scripts/web-build.sh)
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { useSite, openPlayground, ROOT, ARTIFACTS } from "./harness.mjs";

const SCENARIOS = join(ROOT, "static/scenarios");
const SHOTS = join(ARTIFACTS, "scenarios");

/**
 * What the test needs of a .scn file: its id, and per step its kind and its solution lines
 * ({ client, instance, text }). The format is documented in static/scenarios/README.md.
 */
function outline(text) {
  const id = text.match(/^id:\s*(\S+)\s*$/m)?.[1];
  // In a cluster, `A:` goes on the client's own connection (the picker follows it), `A@2:` to
  // node 2 first.
  const cluster = /^cluster:/m.test(text);
  const steps = [];
  for (const line of text.split("\n")) {
    const step = line.match(/^(step|try):\s*(.*)$/);
    if (step) {
      steps.push({ kind: step[1], title: step[2].trim(), solution: [] });
      continue;
    }
    const solution = line.match(/^solution ([A-Za-z][A-Za-z0-9_-]*)(?:@(\d+))?:\s?(.*)$/);
    if (solution && steps.length > 0) {
      steps.at(-1).solution.push({
        client: solution[1],
        instance: solution[2] ? Number(solution[2]) : cluster ? null : 1,
        text: solution[3],
      });
    }
  }
  return { id, steps };
}

const site = useSite();
const files = (await readdir(SCENARIOS)).filter((f) => f.endsWith(".scn")).sort();

before(async () => {
  await rm(SHOTS, { recursive: true, force: true });
  await mkdir(SHOTS, { recursive: true });
});

test("the scenario files are found and read", async () => {
  assert.ok(files.length >= 1, "no .scn files in static/scenarios");
  for (const f of files) {
    const o = outline(await readFile(join(SCENARIOS, f), "utf8"));
    assert.equal(`${o.id}.scn`, f, "a scenario's file is named after its id");
    for (const s of o.steps.filter((s) => s.kind === "try")) {
      assert.ok(s.solution.length > 0, `${f}: try step "${s.title}" has a solution`);
    }
  }
});

/** The clip rectangle of the region in the grid's centre area (the view beside the lesson). */
async function centreClip(page) {
  const rect = await page.evaluate(() => {
    const regions = [...document.querySelectorAll("main.regions > *")];
    const centre =
      regions.find((el) => getComputedStyle(el).gridRowStart === "centre") ??
      // A view that names no grid area lands in the grid's next free cell, beside the lesson.
      regions[1];
    if (!centre) return null;
    const r = centre.getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  });
  assert.ok(rect && rect.width > 0 && rect.height > 0, `a centre view is shown: ${JSON.stringify(rect)}`);
  return rect;
}

for (const file of files) {
  test(`scenario ${file}: every step plays without a failure`, async () => {
    const { id, steps } = outline(await readFile(join(SCENARIOS, file), "utf8"));
    const dir = join(SHOTS, id);
    await mkdir(dir, { recursive: true });
    const { context, page, errors } = await openPlayground(site.browser, `${site.url}?scenario=${id}`);
    try {
      const lesson = page.getByRole("region", { name: "Lesson" });
      const count = lesson.getByRole("status").filter({ hasText: /^Step \d+ of \d+$/ });
      await count.filter({ hasText: `Step 0 of ${steps.length}` }).waitFor();
      const next = lesson.getByRole("button", { name: "Next step" });
      const problems = [];
      const shoot = async (i) =>
        page.screenshot({ path: join(dir, `${i}.png`), clip: await centreClip(page) });
      await shoot(0);
      for (let i = 1; i <= steps.length; i++) {
        const step = steps[i - 1];
        await next.click();
        await count.filter({ hasText: `Step ${i} of ${steps.length}` }).waitFor();
        if (step.kind === "try") {
          for (const { client, instance, text } of step.solution) {
            const picker = lesson.getByRole("combobox", { name: "Instance" });
            if (instance === null) {
              // A cluster client's own connection: the picker stays where the console went.
            } else if ((await picker.count()) > 0) await picker.selectOption(String(instance));
            else assert.equal(instance, 1, `${file}: instance ${instance} but no instance picker`);
            const input = page
              .getByRole("region", { name: `Client ${client}` })
              .getByRole("textbox", { name: "Command" });
            await input.fill(text);
            await input.press("Enter");
          }
          const checks = lesson.getByRole("list", { name: "Checks" }).getByRole("listitem");
          assert.ok((await checks.count()) > 0, `${file} step ${i}: a try step shows its checks`);
          await lesson
            .locator(".checks li.fail")
            .first()
            .waitFor({ state: "detached", timeout: 5000 })
            .catch(() => {});
          const failing = await lesson.locator(".checks li.fail").allInnerTexts();
          if (failing.length > 0) {
            problems.push(`step ${i} "${step.title}": checks still fail after the solution: ${failing.join("; ")}`);
          }
        }
        // Skipped steps (the engine lacks something) are notes, not failures.
        const reported = await lesson.locator("ul.failures li").allInnerTexts();
        for (const r of reported) {
          if (r.startsWith("skipped:")) console.log(`note: ${file} step ${i}: ${r}`);
          else problems.push(`step ${i} "${step.title}": ${r}`);
        }
        await shoot(i);
      }
      assert.ok(await next.isDisabled(), "Next step stops at the end");
      assert.deepEqual(problems, [], `${file}: steps reported failures`);
      assert.deepEqual(errors, [], `${file}: page errors`);
    } finally {
      await context.close();
    }
  });
}
