import * as fs from "node:fs";
import * as path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test } from "@playwright/test";
import { fitsTheWindow, forumYaml, removePackage, scan, signIn, unique, writePackage } from "./support";

const SHOTS = path.resolve(__dirname, "../../target/screenshots");
// Phone, tablet, laptop, desktop; screenshots of every page at the first and the third.
const WIDTHS = [390, 768, 1280, 1920];
const SHOT_WIDTHS = [390, 1280];
// The demo platform's package with a deliberate mistake, so the pages show a broken package.
const CRM_IMPORT = fs.readFileSync(path.resolve(__dirname, "../../server/demo/packages/crm_import/seed/schema/entities.yaml"), "utf8");

/** A package whose Prisma has a line far wider than a phone. */
function longYaml(entity: string): string {
  const field = "descriptionOfTheThingThatIsLongerThanMostScreensAllow";
  return forumYaml(entity, `      ${field}: { type: string, required: true, maxLength: 4000 }\n`);
}

async function noAxeViolations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(summary, `${page.url()} has accessibility violations`).toEqual([]);
}

for (const width of WIDTHS) {
  test(`every page fits ${width} px without sideways scrolling and has no axe violations`, async ({ page }) => {
    test.setTimeout(120_000);
    const tag = unique();
    const id = `layout_${tag}`;
    const broken = `crm_import_${tag}`;
    writePackage(id, longYaml(`Wide${tag}`));
    // A broken package whose excerpt has a line far wider than a phone.
    writePackage(broken, CRM_IMPORT.replace("nullable: true }", `nullable: true, description: "${"x".repeat(300)}" }`));
    const change = scan()[id];
    expect(change, "the scan made a change").toBeTruthy();
    await page.setViewportSize({ width, height: 900 });
    const shoot = (name: string) =>
      SHOT_WIDTHS.includes(width) ? page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true }) : Promise.resolve();

    await page.goto("/login");
    await fitsTheWindow(page);
    await noAxeViolations(page);
    await shoot("login");

    await signIn(page, "admin");
    const pages: [string, string][] = [
      ["dashboard", "/"],
      ["changes", "/changes"],
      ["change", `/changes/${change}`],
      ["change-split", `/changes/${change}?view=split`],
      ["approve-all", "/changes/approve-all"],
      ["packages", "/packages"],
      ["entities", "/entities"],
      ["audit", "/audit"],
      ["accounts", "/accounts"],
      ["database", "/database"],
    ];
    for (const [name, url] of pages) {
      await page.goto(url);
      await expect(page.locator("main h1").first()).toBeVisible();
      await fitsTheWindow(page);
      await noAxeViolations(page);
      await shoot(name);
    }
    removePackage(id);
    removePackage(broken);
  });
}

for (const width of WIDTHS) {
  test(`the side-by-side diff stays inside its column at ${width} px, or below 600 px gives way to the unified one`, async ({ page }) => {
    const tag = unique();
    const id = `split_${tag}`;
    writePackage(id, longYaml(`Split${tag}`));
    const change = scan()[id];
    expect(change, "the scan made a change").toBeTruthy();
    await page.setViewportSize({ width, height: 900 });
    await signIn(page, "viewer");
    await page.goto(`/changes/${change}?view=split`);
    const table = page.locator("table.diff.split");
    if (width < 600) {
      await expect(table).toBeHidden();
      await expect(page.locator("table.diff.unified")).toBeVisible();
      await expect(page.getByText("Side by side needs a wider screen: the diff is shown unified.")).toBeVisible();
      await fitsTheWindow(page);
      // Wide again, the side-by-side layout is back without a reload.
      await page.setViewportSize({ width: 1280, height: 900 });
      await expect(table).toBeVisible();
      await expect(page.locator("table.diff.unified")).toBeHidden();
      removePackage(id);
      return;
    }
    await expect(page.locator("table.diff.unified")).toBeHidden();
    await expect(table.getByRole("columnheader", { name: "Before" })).toBeVisible();
    await expect(table.getByRole("columnheader", { name: "After" })).toBeVisible();
    const [tableBox, columnBox] = await Promise.all([
      table.boundingBox(),
      page.locator("main").boundingBox(),
    ]);
    expect(tableBox!.x).toBeGreaterThanOrEqual(columnBox!.x);
    expect(tableBox!.x + tableBox!.width).toBeLessThanOrEqual(columnBox!.x + columnBox!.width + 0.5);
    // The long line wraps rather than widening the table.
    const wrapper = page.locator(".scroll:has(table.diff.split)");
    const [scrollWidth, clientWidth] = await wrapper.evaluate((el) => [el.scrollWidth, el.clientWidth]);
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    await fitsTheWindow(page);
    removePackage(id);
  });
}

test("on a phone the header collapses into a menu that opens without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signIn(page, "admin");
  const main = page.getByRole("navigation", { name: "Main" });
  await expect(main).toBeHidden();
  const menu = page.locator("header details.menu");
  await expect(menu.getByText("Menu")).toBeVisible();
  await expect(page.getByRole("link", { name: "Accounts" })).toBeHidden();
  await menu.getByText("Menu").click();
  const links = page.getByRole("navigation", { name: "Menu" });
  for (const name of ["Dashboard", "Changes", "Packages", "Entities", "Audit", "Accounts"]) {
    await expect(links.getByRole("link", { name })).toBeVisible();
  }
  await expect(menu.getByRole("button", { name: "Sign out" })).toBeVisible();
  await fitsTheWindow(page);
  await page.screenshot({ path: path.join(SHOTS, "menu-390.png") });
  await links.getByRole("link", { name: "Audit" }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await context.close();
});

test("on a wide screen the navigation is a row and the menu is hidden", async ({ page }) => {
  await page.setViewportSize({ width: 1920, height: 1000 });
  await signIn(page, "admin");
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  await expect(page.locator("header details.menu")).toBeHidden();
  await fitsTheWindow(page);
});
