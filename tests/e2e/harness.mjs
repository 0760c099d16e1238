// Shared by the end-to-end tests and bench/web.mjs: a tiny static server for dist/ on a free
// loopback port, and headless Chromium (Debian's, through playwright-core: no browser download).
import { after, before } from "node:test";
import { createServer } from "node:http";
import { mkdir, readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DIST = process.env.CACHELAB_DIST || join(ROOT, "dist");
export const ARTIFACTS = join(ROOT, "tests/e2e/artifacts");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".css": "text/css",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Serves `dir` on 127.0.0.1 at a port the OS picks; resolves to { url, close }. */
export async function serve(dir = DIST) {
  await stat(join(dir, "index.html")).catch(() => {
    throw new Error(`${dir}/index.html is missing: run scripts/web-build.sh first`);
  });
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = normalize(join(dir, path.endsWith("/") ? path + "index.html" : path));
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((ok) => server.close(ok)) };
}

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: CHROMIUM_FLAGS,
    headless: true,
  });
}

/** Opens the playground and waits until client A's console accepts input. */
export async function openPlayground(browser, url, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.getByRole("textbox", { name: "Command" }).first().waitFor();
  return { context, page, errors };
}

/**
 * Registers the test file's before and after hooks: dist/ served and Chromium launched once for
 * all its tests, both closed at the end. Returns { url, browser }, filled in before the tests run.
 */
export function useSite() {
  const site = { url: null, browser: null, server: null };
  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    site.server = await serve();
    site.url = site.server.url;
    site.browser = await launch();
  });
  after(async () => {
    await site.browser?.close();
    await site.server?.close();
  });
  return site;
}

/** Keeps a screenshot of the page as tests/e2e/artifacts/<name>.png. */
export const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

/** Types `line` into client `client`'s console (0 is A) and presses Enter. */
export async function type(page, line, client = 0) {
  const input = page.getByRole("textbox", { name: "Command" }).nth(client);
  await input.fill(line);
  await input.press("Enter");
}
