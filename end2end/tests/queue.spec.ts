import { expect, test } from "@playwright/test";
import { forumYaml, removePackage, scan, signIn, unique, writePackage } from "./support";

test("the queue shows open changes first and keeps decided ones under History", async ({ page }) => {
  const tag = unique();
  const [open, decided] = [`queue_open_${tag}`, `queue_done_${tag}`];
  writePackage(open, forumYaml(`Open${tag}`));
  writePackage(decided, forumYaml(`Done${tag}`));
  const changes = scan();
  await signIn(page, "admin");
  await page.goto(`/changes/${changes[decided]}`);
  await page.getByLabel("Reason").fill("not now");
  await page.getByRole("button", { name: "Reject" }).click();
  await expect(page.locator("[data-status]").first()).toHaveText("rejected");

  await page.goto("/changes");
  await expect(page).toHaveTitle("Changes · Schemagate");
  const tabs = page.getByRole("navigation", { name: "Which changes" });
  await expect(tabs.getByRole("link", { name: "Open" })).toHaveAttribute("aria-current", "page");
  await page.getByLabel("Package", { exact: true }).fill(tag);
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByTestId("total")).toHaveText("1 change(s)");
  await expect(page.getByRole("link", { name: open })).toBeVisible();
  await expect(page.getByRole("link", { name: decided })).toHaveCount(0);
  // Pending rows come first in the open view.
  const statuses = await page.locator("table.changes [data-status]").allTextContents();
  expect(statuses.every((s) => s === "pending")).toBe(true);

  await tabs.getByRole("link", { name: "History" }).click();
  await expect(page).toHaveURL(new RegExp(`status=history.*package=${tag}`));
  await expect(page.getByRole("link", { name: decided })).toBeVisible();
  await expect(page.getByRole("link", { name: open })).toHaveCount(0);

  await tabs.getByRole("link", { name: "All" }).click();
  await expect(page.getByTestId("total")).toHaveText("2 change(s)");
  // The rejected badge is a color with its word, not a strike-through.
  await expect(page.locator('[data-status="rejected"]')).not.toHaveCSS("text-decoration-line", "line-through");
  removePackage(open);
  removePackage(decided);
});

test("the package filter matches part of a name, literally, and Clear resets it", async ({ page }) => {
  const tag = unique();
  const id = `billing_${tag}_ledger`;
  writePackage(id, forumYaml(`Ledger${tag}`));
  scan();
  await signIn(page, "viewer");
  await page.goto("/changes");
  await page.getByLabel("Package", { exact: true }).fill(`LING_${tag.toUpperCase()}`);
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByRole("link", { name: id })).toBeVisible();
  // `%` and `_` match only themselves.
  await page.goto(`/changes?package=${encodeURIComponent(`billing%${tag}`)}`);
  await expect(page.getByTestId("total")).toHaveText("0 change(s)");
  await page.goto(`/changes?package=${encodeURIComponent(`billing_${tag}_`)}`);
  await expect(page.getByTestId("total")).toHaveText("1 change(s)");
  await page.getByRole("link", { name: "Clear", exact: true }).click();
  await expect(page).toHaveURL(/\/changes$/);
  await expect(page.getByLabel("Package", { exact: true })).toHaveValue("");
  removePackage(id);
});

test("numbered pages, and a page past the end shows the last one", async ({ page }) => {
  const tag = unique();
  const ids = Array.from({ length: 27 }, (_, n) => `pages_${tag}_${String(n).padStart(2, "0")}`);
  for (const id of ids) writePackage(id, forumYaml(`Paged${tag}${ids.indexOf(id)}`));
  scan();
  await signIn(page, "viewer");
  await page.goto(`/changes?package=pages_${tag}`);
  const pager = page.getByRole("navigation", { name: "Pages" });
  await expect(pager.getByRole("link", { name: "Page 1" })).toHaveAttribute("aria-current", "page");
  await pager.getByRole("link", { name: "Page 2" }).click();
  await expect(page.locator("table.changes tbody tr")).toHaveCount(2);
  await expect(page.getByText("Page 2 of 2")).toBeVisible();

  await page.goto(`/changes?package=pages_${tag}&page=9`);
  await expect(page.getByText("Page 2 of 2")).toBeVisible();
  await expect(page.locator("table.changes tbody tr")).toHaveCount(2);

  // One page of results: no pager, and page 2 of it is page 1.
  await page.goto(`/changes?package=pages_${tag}_01&page=2`);
  await expect(page.locator("table.changes tbody tr")).toHaveCount(1);
  await expect(page.getByRole("navigation", { name: "Pages" })).toHaveCount(0);
  for (const id of ids) removePackage(id);
});

test("an empty result says why and where to look", async ({ page }) => {
  await signIn(page, "viewer");
  await page.goto(`/changes?package=nothing_${unique()}`);
  await expect(page.getByTestId("total")).toHaveText("0 change(s)");
  const empty = page.getByTestId("empty");
  await expect(empty).toContainText("No change matches these filters.");
  await expect(empty.getByRole("link", { name: "Clear the filters" })).toHaveAttribute("href", "/changes");
  await expect(empty.getByRole("link", { name: /History/ })).toHaveAttribute("href", "/changes?status=history");
  await expect(page.locator("table.changes")).toHaveCount(0);
});

test("a change whose rows no tenant owns carries a finding: badged in the queue, shown on its page, left out of bulk approval", async ({ page }) => {
  const tag = unique();
  const [untied, routine] = [`loose_${tag}`, `tied_${tag}`];
  // No tenantId and no relation to Tenant: every tenant would share its rows.
  writePackage(untied, `entities:\n  - name: Loose${tag}\n    fields:\n      id: { type: cuid, primary: true, generated: true }\n      title: { type: string, required: true }\n`);
  writePackage(routine, forumYaml(`Tied${tag}`));
  const changes = scan();
  await signIn(page, "admin");
  await page.goto(`/changes?q=${tag}`);
  const row = page.locator("table.changes tbody tr", { has: page.getByRole("link", { name: untied }) });
  await expect(row.getByTestId("findings")).toHaveText("1 finding");
  await expect(row.locator("[data-risk]")).toHaveText("security");
  const tied = page.locator("table.changes tbody tr", { has: page.getByRole("link", { name: routine }) });
  await expect(tied.getByTestId("findings")).toHaveCount(0);

  await page.goto(`/changes/${changes[untied]}`);
  await expect(page.locator("main")).toContainText(`rows not tied to a Tenant`);
  await expect(page.locator("main")).toContainText("every tenant shares them");

  await page.goto("/changes/approve-all");
  const take = page.locator("section[aria-labelledby=take-h]");
  await expect(take).toContainText(routine);
  await expect(take).not.toContainText(untied);
  await expect(page.locator("section[aria-labelledby=skipped-h]")).toContainText(untied);
  removePackage(untied);
  removePackage(routine);
});
