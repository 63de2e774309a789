import { expect, test } from "@playwright/test";

test("the dashboard renders counts from Postgres and works after hydration", async ({ page }) => {
  const consoleErrors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(error.message));

  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Schema changes" })).toBeVisible();
  const counts = page.getByLabel("Changes per state");
  await expect(counts.locator('[data-state="pending"] dd')).toHaveText(/^\d+$/);
  await expect(counts.locator("dt")).toHaveText([
    "pending", "approved", "applying", "applied", "failed", "rejected", "superseded",
  ]);

  // The button only does something once the wasm has loaded and hydrated the page; clicking
  // it refetches the counts through the server function.
  const refresh = page.getByRole("button", { name: "Refresh" });
  const counted = page.waitForResponse((response) =>
    response.url().endsWith("/api/status_counts") && response.status() === 200,
  );
  await expect(async () => {
    await refresh.click();
    await expect(page.getByText(/refreshed \d+×/)).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await counted;
  await expect(counts.locator('[data-state="pending"] dd')).toHaveText(/^\d+$/);

  expect(consoleErrors).toEqual([]);
});

test("the dashboard is readable with JavaScript disabled", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Schema changes" })).toBeVisible();
  await expect(page.getByLabel("Changes per state").locator("dt")).toHaveCount(7);
  await context.close();
});

test("the wasm bundle is served as application/wasm", async ({ request }) => {
  const response = await request.get("/pkg/schemagate.wasm");
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toBe("application/wasm");
});
