import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";
import { writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";
import { installTempKernelspec } from "../kernel/kernel-fixture";

const TEXTS = JSON.stringify(Array.from({ length: 12 }, (_, i) => `the fox <think> sat with the dog ${i % 4}.`));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A real widget manager against the real kernel: Debian's classic Notebook server runs the tokenlab
 * kernel; a page built from @jupyterlab/services and @jupyter-widgets/html-manager (ipywidgets 8's
 * renderer) connects over the server's websocket, executes cells and renders their widgets in
 * headless Chromium. Nothing may load from outside 127.0.0.1.
 */
describe("widgets in Chromium with @jupyter-widgets/html-manager, kernel behind a Notebook server", function () {
  this.timeout(300_000);
  let work: string;
  let spec: ReturnType<typeof installTempKernelspec>;
  let server: ChildProcess;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const offline: string[] = [];

  /** Runs one cell in the page; resolves when its execute_reply came and its outputs rendered. */
  const run = (code: string) =>
    page.evaluate(async (source) => (await (window as unknown as { notebook: Promise<{ run(code: string): Promise<{ status: string; text: string }> }> }).notebook).run(source), code);
  /** The newest cell, pinned: cells run later do not move it. */
  const newestCell = async () => page.locator("div.cell").nth((await page.locator("div.cell").count()) - 1);

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tokenlab-widgets-browser-"));
    spec = installTempKernelspec();
    writeTinyCheckpoint(join(work, "tiny"), { tied: false });
    await build({
      entryPoints: [join(__dirname, "browser-page.ts")],
      bundle: true,
      format: "iife",
      platform: "browser",
      outfile: join(work, "page.js"),
      loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".eot": "dataurl", ".svg": "dataurl", ".png": "dataurl" },
      define: { "process.env.NODE_ENV": '"production"' },
      banner: { js: 'var __webpack_public_path__ = "";' }, // html-manager sets it for webpack's chunk loading; nothing is loaded by path here
      logLevel: "error",
    });
    const port = await freePort();
    const token = randomBytes(12).toString("hex");
    // The server's /files/ route serves the page; each request carries the token.
    writeFileSync(join(work, "page.html"), `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="stylesheet" href="page.css?token=${token}"></head><body><script src="page.js?token=${token}"></script></body></html>`);
    const jupyterHome = join(work, "jupyter");
    for (const dir of ["config", "data", "runtime"]) mkdirSync(join(jupyterHome, dir), { recursive: true });
    // python3-notebook ships the module, not the jupyter-notebook launcher (that is another package).
    server = spawn("/usr/bin/python3", [
      "-m", "notebook", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--NotebookApp.port_retries=0", `--NotebookApp.token=${token}`,
      `--NotebookApp.notebook_dir=${work}`, "--NotebookApp.open_browser=False",
      ...(process.getuid?.() === 0 ? ["--allow-root"] : []), // CI containers run as root
    ], {
      cwd: work,
      env: { ...process.env, JUPYTER_PATH: spec.jupyterPath, JUPYTER_CONFIG_DIR: join(jupyterHome, "config"), JUPYTER_DATA_DIR: join(jupyterHome, "data"), JUPYTER_RUNTIME_DIR: join(jupyterHome, "runtime") },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let serverLog = "";
    server.stderr!.on("data", (chunk) => (serverLog += String(chunk)));
    const origin = `http://127.0.0.1:${port}`;
    for (let tries = 0; ; tries++) {
      const ready = await fetch(`${origin}/api/kernelspecs?token=${token}`).then((r) => r.ok, () => false);
      if (ready) break;
      assert.ok(tries < 600 && server.exitCode === null, `the Notebook server did not start:\n${serverLog}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.route(/^(https?|wss?):/, (route) => {
      const url = route.request().url();
      if (url.startsWith(`${origin}/`)) return route.continue();
      offline.push(url);
      return route.abort();
    });
    await page.goto(`${origin}/files/page.html?token=${token}&kernel=tokenlab`, { waitUntil: "load" });
    const connected = await page.evaluate(() => (window as unknown as { notebook?: Promise<unknown> }).notebook?.then(() => true, (error) => String(error)));
    assert.equal(connected, true, `the page connected to a kernel: ${errors.join("\n")}`);
    const setup = await run(`import * as tokenlab from "tokenlab";\nconst model = await tokenlab.loadModel(${JSON.stringify(join(work, "tiny"))});\nconst added = tokenlab.addTokens(model, ["<think>"], { init: "mean" });\nconst texts: string[] = ${TEXTS};\nadded.newIds[0]`);
    assert.equal(setup.status, "ok", setup.text);
  });

  after(async () => {
    await browser?.close();
    server?.kill("SIGTERM");
    if (server && server.exitCode === null) await new Promise((resolve) => server.once("exit", resolve));
    spec?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it("renders controls a cell shows (a box with a button and a text field), state from the kernel", async () => {
    const shown = await run('display(tokenlab.hbox([new tokenlab.Button({ description: "Hello", button_style: "success" }), new tokenlab.Text({ value: "typed" })]))');
    assert.equal(shown.status, "ok", shown.text);
    const cell = await newestCell();
    await cell.locator(".widget-hbox button.widget-button", { hasText: "Hello" }).waitFor();
    assert.ok(await cell.locator("button.mod-success").count(), "button_style reached the view");
    assert.equal(await cell.locator(".widget-text input").inputValue(), "typed");
  });

  it("token playground: typing shows the tokenization with the new token highlighted, its id and predictions", async () => {
    const newId = (await run("added.newIds[0]")).text.trim();
    const shown = await run("display(tokenlab.tokenPlayground(added, { topK: 3 }))");
    assert.equal(shown.status, "ok", shown.text);
    const cell = await newestCell();
    await cell.locator(".widget-text input").fill("the fox <think> sat");
    const highlighted = cell.locator(".tokenlab-tokens .tokenlab-new-token");
    await highlighted.first().waitFor();
    assert.deepEqual(await highlighted.allInnerTexts(), ["<think>"]);
    assert.match(await cell.locator(".tokenlab-ids").innerText(), new RegExp(`\\b${newId}\\b`));
    assert.equal(await cell.locator(".tokenlab-predictions tbody tr").count(), 3);
  });

  it("init chooser: picking a strategy in the dropdown shows initReport's row and the nearest tokens for it", async () => {
    const shown = await run('display(tokenlab.initChooser(model, { texts, token: "<tool>" }))');
    assert.equal(shown.status, "ok", shown.text);
    const cell = await newestCell();
    await cell.locator(".tokenlab-init-preview").waitFor();
    await cell.locator(".widget-dropdown select").selectOption({ label: "zeros" });
    await cell.locator(".tokenlab-init-preview", { hasText: "init zeros" }).waitFor();
    // The same preview computed directly in the kernel, rendered as text by the browser, must match.
    const expected = await run('console.log(JSON.stringify(tokenlab.previewInit(model, "<tool>", "zeros", "zeros", texts)[tokenlab.JUPYTER_DISPLAY]()["text/html"]))');
    const html = JSON.parse(expected.text.trim()) as string;
    const expectedText = await page.evaluate((source) => {
      const scratch = document.createElement("div");
      scratch.innerHTML = source;
      document.body.append(scratch);
      const text = scratch.innerText;
      scratch.remove();
      return text;
    }, html);
    const shownText = await cell.locator(".tokenlab-init-preview").innerText();
    assert.equal(shownText, expectedText);
    assert.match(shownText, /zeros[\s\S]*nearest existing tokens/);
  });

  it("Pause, Resume and Stop reach a running training cell; it stops at a step boundary with the weights of that many steps", async () => {
    const training = run("const trainingRun = tokenlab.train(added, texts, { steps: 20000, batchSize: 2, seed: 1 });\nconst stopped = await trainingRun;\n`${stopped.status} ${stopped.steps} ${trainingRun.history.length}`");
    const cell = await newestCell();
    const pause = cell.locator("button.widget-button", { hasText: "Pause" });
    await pause.waitFor();
    await pause.click();
    const status = cell.locator(".tokenlab-run-status");
    await status.filter({ hasText: /paused at step \d+/ }).waitFor();
    await cell.locator("button.widget-button", { hasText: "Resume" }).click();
    await status.filter({ hasText: /running/ }).waitFor();
    await cell.locator("button.widget-button", { hasText: "Stop" }).click();
    const result = await training;
    assert.equal(result.status, "ok", result.text);
    const [state, steps, recorded] = (result.text.match(/stopped (\d+) (\d+)/) ?? []).slice(0, 3);
    assert.ok(state, `the run stopped: ${result.text}`);
    assert.equal(steps, recorded, "the result holds every completed step");
    assert.ok(Number(steps) > 0 && Number(steps) < 20000);
    await status.filter({ hasText: `stopped at step ${steps}` }).waitFor();
    assert.ok(await cell.locator("button.widget-button:disabled", { hasText: "Stop" }).count(), "Stop is disabled once the run ended");
    const check = await run(
      [
        "const reference = await tokenlab.train(added, texts, { steps: stopped.steps, batchSize: 2, seed: 1, display: false });",
        "const bytes = (m: tokenlab.CausalLM) => { const whole = tokenlab.materializedMatrix(m, m.layout.embedding); const t = whole.dataSync(); whole.dispose(); return Buffer.from(t.buffer, t.byteOffset, t.byteLength); };",
        "`${bytes(stopped.latest).equals(bytes(reference.latest))} ${bytes(stopped.latest).equals(bytes(added.model))}`",
      ].join("\n"),
    );
    assert.match(check.text, /true false/, `same weights as a run of exactly that many steps, and not the initial ones: ${check.text}`);
  });

  it("loaded nothing from outside the server and logged no errors", () => {
    assert.deepEqual(offline, []);
    assert.deepEqual(errors, []);
  });
});
