import { expect, test } from "@playwright/test";
import { consoleErrors, signIn } from "./support";

test("the dashboard renders counts from Postgres and works after hydration", async ({ page }) => {
  const errors = consoleErrors(page);
  await signIn(page, "viewer");
  await expect(page.getByRole("heading", { name: "Schema changes" })).toBeVisible();
  const counts = page.getByLabel("Changes per state");
  await expect(counts.locator('[data-state="pending"] dd')).toHaveText(/^\d+$/);
  await expect(counts.locator("dt")).toHaveText([
    "pending", "approved", "applying", "applied", "failed", "rejected", "superseded",
  ]);

  // The button only does something once the wasm has loaded and hydrated the page; clicking
  // it refetches the dashboard through a server function, and the time the figures were read
  // moves on (to the second, so a click in the same second may show the same time).
  const refresh = page.getByRole("button", { name: "Refresh" });
  const updated = page.getByTestId("updated").locator("time");
  const first = await updated.getAttribute("datetime");
  const fetched = page.waitForResponse((r) => r.url().endsWith("/api/dashboard") && r.status() === 200);
  await expect(async () => {
    await refresh.click();
    await expect(updated).not.toHaveAttribute("datetime", first!, { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await expect(updated).toHaveText(/^\d\d:\d\d:\d\d$/);
  await fetched;
  expect(errors).toEqual([]);
});

test("the dashboard is readable with JavaScript disabled", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, "viewer");
  await expect(page.getByRole("heading", { name: "Schema changes" })).toBeVisible();
  await expect(page.getByLabel("Changes per state").locator("dt")).toHaveCount(7);
  await context.close();
});

test("visitors without a session are sent to the sign-in page", async ({ page }) => {
  await page.goto("/changes");
  await expect(page).toHaveURL(/\/login\?next=%2Fchanges$/);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
});

test("the wasm bundle the page names is served as application/wasm", async ({ page, request }) => {
  await page.goto("/login");
  const wasm = await page.locator('link[rel="preload"][type="application/wasm"]').getAttribute("href");
  expect(wasm).toMatch(/^\/pkg\/schemagate\.[0-9a-f]{16}\.wasm$/);
  const response = await request.get(wasm!);
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toBe("application/wasm");
});
