import { expect, test } from "@playwright/test";
import { forumYaml, removePackage, scan, signIn, unique, writePackage } from "./support";

test("a posted comment clears the box and its web address is a link, its markup only text", async ({ page }) => {
  const id = `remark_${unique()}`;
  writePackage(id, forumYaml(`Remark${unique()}`));
  const change = scan()[id];
  await signIn(page, "reviewer");
  await page.goto(`/changes/${change}`);
  const box = page.getByLabel("Comment");
  await box.fill("see https://example.com/spec?id=7. <b>bold</b>");
  await page.getByRole("button", { name: "Add comment" }).click();
  const timeline = page.locator("ol.timeline");
  await expect(timeline).toContainText("change.commented by reviewer");
  await expect(page.getByLabel("Comment")).toHaveValue("");
  const link = timeline.getByRole("link", { name: "https://example.com/spec?id=7" });
  await expect(link).toHaveAttribute("href", "https://example.com/spec?id=7");
  await expect(timeline).toContainText("<b>bold</b>");
  await expect(timeline.locator("b")).toHaveCount(0);
  // The comment has an anchor of its own: a deep link opens the page on it.
  const anchor = timeline
    .locator("li")
    .filter({ hasText: "change.commented by reviewer" })
    .getByRole("link", { name: /^Link to event \d+$/ });
  const hash = await anchor.getAttribute("href");
  expect(hash).toMatch(/^#event-\d+$/);
  await page.goto(`/changes/${change}${hash}`);
  await expect(page.locator(`li${hash}`)).toContainText("change.commented by reviewer");
  await expect(page.locator("li:target")).toContainText("see https://example.com/spec?id=7");
  removePackage(id);
});
