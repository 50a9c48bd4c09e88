// The operator console as a person uses it, in headless Chromium (Debian's `chromium`, driven by
// playwright-core): sign in (a wrong token first), find a job by status, open it, retry a failed
// one and watch it succeed, check a form without its CSRF token is refused, narrow and dark
// screens, sign out. Every page is checked with axe-core (no serious or critical violation) and
// saved as a screenshot in $OUT. Any console error, page error, failed request or unexpected
// HTTP error fails the run.
//
// Environment: SPARTA_URL, OPERATOR_TOKEN, FAILED_JOB_ID (a failed job whose retry succeeds),
// CHROMIUM (default /usr/bin/chromium), OUT (default ./output).
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const base = process.env.SPARTA_URL;
const token = process.env.OPERATOR_TOKEN;
const failedJob = process.env.FAILED_JOB_ID;
const tenantKey = process.env.TENANT_KEY;
const out = process.env.OUT ?? "output";
if (!base || !token || !failedJob || !tenantKey) {
  throw new Error("SPARTA_URL, OPERATOR_TOKEN, FAILED_JOB_ID and TENANT_KEY are required");
}
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const problems = [];
// Responses the steps provoke on purpose: (method, path, status).
const expected = new Set();
page.on("console", (m) => {
  // Chromium also logs every HTTP error status as "Failed to load resource": those are judged
  // by the response handler below, against the statuses the steps provoke on purpose.
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
    problems.push(`console error on ${page.url()}: ${m.text()}`);
  }
});
page.on("pageerror", (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
page.on("requestfailed", (r) => {
  // A navigation cancels what the page still had in flight (the icon, a redirected POST):
  // ERR_ABORTED is the browser's own doing, not the server's.
  if (r.failure()?.errorText !== "net::ERR_ABORTED") {
    problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`);
  }
});
page.on("response", (r) => {
  const key = `${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`;
  if (r.status() >= 400 && !expected.has(key)) problems.push(`HTTP ${key}`);
});

let checked = 0;
/** axe-core on the page as it is (no serious or critical violation), then a screenshot. */
async function check(name) {
  // Evaluated through the DevTools protocol: the pages' CSP (script-src 'self') stays on.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) problems.push(`${name}: accessibility: ${JSON.stringify(bad)}`);
  await page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
  checked += 1;
  console.log(`${name}: ${result.length} axe violation(s) (${bad.length} serious or critical), screenshot saved`);
}

async function waitFor(condition, what, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(250);
  }
}

// 1. Signed out, the console is the sign-in page.
await page.goto(`${base}/console`);
if (!page.url().endsWith("/console/login")) throw new Error(`not sent to sign in: ${page.url()}`);
await check("01-sign-in");

// 2. A wrong token is refused with a message tied to the field.
expected.add("POST /console/login 401");
await page.getByLabel("Operator token").fill("sparta_op_wrong");
await page.getByRole("button", { name: "Sign in" }).click();
await page.getByRole("alert").waitFor();
await check("02-sign-in-refused");

// 3. The operator's token opens the jobs.
await page.getByLabel("Operator token").fill(token);
await page.getByRole("button", { name: "Sign in" }).click();
await page.waitForURL(/\/console\/overview$/);
const cookie = (await context.cookies()).find((c) => c.name === "sparta_console");
if (!cookie || !cookie.httpOnly || cookie.sameSite !== "Strict") {
  throw new Error(`session cookie not HttpOnly + SameSite=Strict: ${JSON.stringify(cookie)}`);
}
// The overview: throughput (a chart), the queue, times and failures by kind and the breakers,
// followed live (Server-Sent Events): it fills in with the seed job as the worker writes its
// activity (every 500 ms here).
await page.getByRole("table", { name: /waiting and running now/ }).waitFor();
await page.getByText("follows live").waitFor();
await page.getByRole("img", { name: /Jobs finished per second/ }).waitFor();
await waitFor(async () => {
  const row = page.getByRole("row", { name: /^nutrition/ });
  const cells = await row.getByRole("cell").allTextContents();
  // Queued, running, succeeded, dead, retried, wait p50, wait p99, run p50, run p99.
  return cells.length === 9 && Number(cells[2]) >= 1 && cells[5] !== "–";
}, "the overview to show the seed job");
await check("03-overview");
await page.getByRole("link", { name: "Jobs", exact: true }).click();
await page.waitForURL(/\/console\/jobs$/);
await page.getByRole("table").waitFor();
await check("03b-jobs");

// 4. Find the failed job by its status.
await page.getByLabel("Status").selectOption("failed");
await page.getByRole("button", { name: "Filter" }).click();
await page.waitForURL(/status=failed/);
const link = page.getByRole("link", { name: `${failedJob.slice(0, 8)}…` });
await link.waitFor();
await check("04-jobs-failed");

// 5. Open it: input, attempts, and a Retry button.
await link.click();
await page.waitForURL(new RegExp(`/console/jobs/${failedJob}$`));
await page.getByText("failed", { exact: true }).first().waitFor();
await check("05-job-failed");

// 6. A form without the session's CSRF token is refused (the same request the button makes).
expected.add(`POST /console/jobs/${failedJob}/retry 403`);
const forged = await page.evaluate(async (id) => {
  const r = await fetch(`/console/jobs/${id}/retry`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "csrf=0000",
  });
  return r.status;
}, failedJob);
if (forged !== 403) throw new Error(`a forged form answered ${forged}, not 403`);
expected.delete(`POST /console/jobs/${failedJob}/retry 403`);

// 7. Retry it and watch it succeed.
await page.getByRole("button", { name: "Retry" }).click();
await page.getByRole("status").filter({ hasText: "Queued again." }).waitFor();
await waitFor(async () => {
  await page.reload();
  return (await page.locator(".status").first().textContent()) === "succeeded";
}, "the retried job to succeed");
await page.getByRole("heading", { name: "Attempts" }).waitFor();
await check("06-job-retried");

// 8. Keyboard: the first Tab reaches the skip link, visibly focused.
await page.keyboard.press("Tab");
const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
if (focused !== "Skip to content") throw new Error(`first Tab focused ${focused}`);

// 9. A phone's 360 px and the dark setting: no sideways scroll of the page itself.
await page.setViewportSize({ width: 360, height: 800 });
await page.goto(`${base}/console/jobs`);
const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
if (overflow > 1) throw new Error(`the jobs page scrolls sideways by ${overflow}px at 360px`);
await check("07-jobs-360px");
// The overview at 360 px in the dark: the chart scales down, only the tables scroll sideways.
await page.emulateMedia({ colorScheme: "dark" });
await page.goto(`${base}/console/overview`);
await page.getByRole("img", { name: /Jobs finished per second/ }).waitFor();
const overviewOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
if (overviewOverflow > 1) throw new Error(`the overview scrolls sideways by ${overviewOverflow}px at 360px`);
await check("07b-overview-360px-dark");
await page.emulateMedia({ colorScheme: "dark" });
await page.setViewportSize({ width: 1280, height: 900 });
await page.goto(`${base}/console/jobs/${failedJob}`);
await check("08-job-dark");

// 10. Tenants: create a key (shown once, never in a URL), revoke the one the tenant used and
//     see it refused.
await page.emulateMedia({ colorScheme: "light" });
await page.getByRole("link", { name: "Tenants" }).click();
await page.getByRole("link", { name: "acme" }).click();
await page.getByRole("heading", { name: "Tenant acme" }).waitFor();
// Its motivation schedules due next (the scheduler is off here: none yet).
await page.getByRole("table", { name: /Due next/ }).getByText("Nothing scheduled yet.").waitFor();
await check("09-tenant");
const apiStatus = (key) => page.evaluate(async (k) => (await fetch("/v1/kinds", { headers: { Authorization: `Bearer ${k}` } })).status, key);
if ((await apiStatus(tenantKey)) !== 200) throw new Error("the tenant's key does not work before revoking");
await page.getByLabel("New key's name").fill("console-made");
await page.getByRole("button", { name: "Create the key" }).click();
const shown = (await page.locator("#new-key").textContent())?.trim() ?? "";
if (!shown.startsWith("sk_sparta_") || page.url().includes(shown)) throw new Error(`new key not shown once: ${shown}`);
await check("10-tenant-new-key");
if ((await apiStatus(shown)) !== 200) throw new Error("the new key does not work");
await page.goto(`${base}/console/tenants/${new URL(page.url()).pathname.split("/")[3]}`);
await page.getByRole("button", { name: "Revoke the key default" }).click();
await page.getByRole("heading", { name: "Tenant acme" }).waitFor();
expected.add("GET /v1/kinds 401");
if ((await apiStatus(tenantKey)) !== 401) throw new Error("the revoked key still works");
await check("11-tenant-revoked");
// A budget: a wrong figure is refused on the page, a right one shown, then removed.
expected.add(`POST ${new URL(page.url()).pathname}/budget 400`);
await page.getByLabel("Monthly budget (USD)").fill("lots");
await page.getByRole("button", { name: "Set the budget" }).click();
await page.getByRole("alert").filter({ hasText: "monthly_usd" }).waitFor();
await page.getByLabel("Monthly budget (USD)").fill("25");
await page.getByLabel("Daily budget (USD, optional)").fill("2.5");
await page.getByRole("button", { name: "Set the budget" }).click();
await page.getByText("$25.0 a month, $2.5 a day").waitFor();
await check("11b-tenant-budget");
await page.getByRole("button", { name: "Remove the budget" }).click();
await page.getByText("none (no ceiling)").waitFor();

// 10b. Providers: the builtin engine can be forced closed (never open) and lifted again.
await page.getByRole("link", { name: "Providers" }).click();
await page.getByRole("heading", { name: "Providers" }).waitFor();
if (await page.getByRole("button", { name: "Force open builtin" }).count()) throw new Error("builtin offered to force open");
await page.getByLabel("Reason for builtin").fill("console test");
await page.getByRole("button", { name: "Force closed builtin" }).click();
await page.getByText("since").first().waitFor();
// Each model's last hour (the engine answered the seed job) and the per-day charts.
await page.getByRole("img", { name: /Tokens per day by model/ }).waitFor();
await page.getByRole("img", { name: /Spend per day by model/ }).waitFor();
const builtinHour = await page.locator("#models-hour").getByRole("row", { name: /^builtin/ }).getByRole("cell").allTextContents();
if (!(Number(builtinHour[0]) >= 1) || builtinHour[2] === "–") {
  throw new Error(`the engine's last hour is not shown: ${JSON.stringify(builtinHour)}`);
}
await check("11c-providers-forced");
await page.getByRole("button", { name: "Lift builtin's override" }).click();
await page.getByRole("button", { name: "Force closed builtin" }).waitFor();
if (await page.getByRole("button", { name: "Lift builtin's override" }).count()) throw new Error("the override was not lifted");

// 11. Playground: a progress report from its example, submitted as acme, watched to the end
//     (the page follows it), its three charts drawn inline.
await page.getByRole("link", { name: "Playground" }).click();
await page.getByLabel("Kind", { exact: true }).selectOption("progress_report");
await page.getByRole("button", { name: "Load its example" }).click();
await page.waitForURL(/kind=progress_report/);
const prefilled = await page.getByLabel(/Input of a/).inputValue();
if (!prefilled.includes("planned_days_per_week")) throw new Error("the example was not loaded");
await check("12-playground");
await page.getByLabel("Submit as").selectOption({ label: "acme" });
await page.getByRole("button", { name: "Submit the job" }).click();
await page.waitForURL(/\/console\/jobs\/[0-9a-f-]+/);
await waitFor(async () => (await page.locator(".status").first().textContent()) === "succeeded", "the report to succeed");
await page.getByRole("heading", { name: "Charts" }).waitFor();
const drawn = await page.evaluate(async () => {
  const images = [...document.querySelectorAll(".charts img")];
  await Promise.all(images.map((i) => (i.complete ? null : new Promise((r) => { i.onload = r; i.onerror = r; }))));
  return images.map((i) => i.naturalWidth);
});
if (drawn.length !== 3 || drawn.some((w) => w === 0)) throw new Error(`charts not drawn: ${drawn}`);
await check("13-playground-report");

// 12. Sign out: the session is gone.
await page.getByRole("button", { name: "Sign out" }).click();
await page.waitForURL(/\/console\/login$/);
await page.goto(`${base}/console/jobs`);
if (!page.url().endsWith("/console/login")) throw new Error("still signed in after signing out");

await browser.close();
if (problems.length) {
  console.error(`console browser test: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log(`console browser test: ${checked} pages checked, screenshots in ${out}`);
