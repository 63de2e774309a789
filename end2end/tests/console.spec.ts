import * as fs from "node:fs";
import * as path from "node:path";
import { expect, Locator, Page, test } from "@playwright/test";
import { cli, consoleErrors, forumYaml, removePackage, scan, signIn, unique, writePackage } from "./support";

const SHOTS = path.resolve(__dirname, "../../target/screenshots");
// The demo platform's package with a deliberate mistake: `jsonb` at line 9, column 27.
const CRM_IMPORT = fs.readFileSync(path.resolve(__dirname, "../../server/demo/packages/crm_import/seed/schema/entities.yaml"), "utf8");

/** The broken package's entry, its one cause, the excerpt with the column marked, and the fix. */
async function showsCrmImport(page: Page, id: string) {
  const section = page.getByRole("region", { name: /Packages with errors/ });
  await expect(section).toBeVisible();
  const entry = section.getByRole("article", { name: new RegExp(`^${id}\\b`) });
  await expect(entry.getByRole("link", { name: id })).toHaveAttribute("href", `/packages?q=${id}#pkg-${id}`);
  await expect(entry).toContainText("1 error(s), 1 cause(s)");
  await showsJsonbCause(entry, id);
}

async function showsJsonbCause(scope: Locator, id: string) {
  const cause = scope.locator("li.cause");
  await expect(cause).toHaveCount(1);
  await expect(cause.locator(".message")).toHaveText('unknown field type "jsonb"');
  await expect(cause.locator("ul.places")).toContainText(`${id}/seed/schema/entities.yaml:9:27 at CrmContact.fields.attributes.type`);
  const excerpt = cause.getByRole("group", { name: /line 9, column 27/ });
  await expect(excerpt).toBeVisible();
  // Two lines before and after, numbered; the marked line flagged with ">" and the column with "^".
  await expect(excerpt.locator(".line")).toHaveCount(5);
  await expect(excerpt.locator(".line").first()).toContainText("7 |");
  await expect(excerpt.locator(".line.marked")).toHaveText(">  9 |       attributes: { type: jsonb, nullable: true }");
  await expect(excerpt.locator("mark")).toHaveText("j");
  expect(await excerpt.locator(".line.marked").textContent()).toBe(">  9 |       attributes: { type: jsonb, nullable: true }\n");
  expect(await excerpt.locator(".caret").textContent()).toBe(`     | ${" ".repeat(26)}^ column 27\n`);
  await expect(cause.locator(".fix")).toContainText("Fix: expected one of cuid, uuid, string, int, bigint, float, boolean, json");
}

test("a package that fails validation is on the dashboard and the queue with its excerpt and fix", async ({ page }) => {
  const errors = consoleErrors(page);
  const id = `crm_import_${unique()}`;
  writePackage(id, CRM_IMPORT);
  scan();
  await signIn(page, "viewer");
  await expect(page.getByRole("heading", { name: "Schema changes" })).toBeVisible();
  await showsCrmImport(page, id);
  await page.screenshot({ path: path.join(SHOTS, "dashboard-broken.png"), fullPage: true });

  await page.goto("/changes");
  await showsCrmImport(page, id);
  // The history is about decided changes: the broken packages stay on the open tab.
  await page.goto("/changes?status=history");
  await expect(page.getByRole("region", { name: /Packages with errors/ })).toHaveCount(0);

  // The link leads to the package's entry on the Packages page, grouped the same way.
  await page.goto("/");
  await page.getByRole("region", { name: /Packages with errors/ }).getByRole("link", { name: id }).click();
  await expect(page).toHaveURL(new RegExp(`/packages\\?q=${id}#pkg-${id}$`));
  await showsJsonbCause(page.getByRole("region", { name: id }), id);
  expect(errors).toEqual([]);
  removePackage(id);
});

test("broken packages are listed without JavaScript too", async ({ browser }) => {
  const id = `crm_import_${unique()}`;
  writePackage(id, CRM_IMPORT);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, "viewer");
  await showsCrmImport(page, id);
  await context.close();
  removePackage(id);
});

test("a cause repeated in several fields is listed once with its count and every place", async ({ page }) => {
  const id = `repeated_${unique()}`;
  const yaml = CRM_IMPORT.replace(
    "      attributes: { type: jsonb, nullable: true }\n",
    "      attributes: { type: jsonb, nullable: true }\n      history: { type: jsonb }\n      extra: { type: jsonb }\n      note: { type: text }\n",
  );
  writePackage(id, yaml);
  await signIn(page, "viewer");
  await page.goto(`/packages?q=${id}`);
  const section = page.getByRole("region", { name: id });
  const causes = section.locator("li.cause");
  await expect(causes).toHaveCount(2);
  const jsonb = causes.filter({ hasText: 'unknown field type "jsonb"' });
  await expect(jsonb.locator(".badge.count")).toHaveText("3 times");
  await expect(jsonb.locator("ul.places li")).toHaveText([
    /:9:27 at CrmContact\.fields\.attributes\.type$/,
    /:10:24 at CrmContact\.fields\.history\.type$/,
    /:11:22 at CrmContact\.fields\.extra\.type$/,
  ]);
  await expect(causes.filter({ hasText: 'unknown field type "text"' }).locator(".badge.count")).toHaveCount(0);
  removePackage(id);
});

test("times say how long ago on the viewer's clock, with the exact time on hover", async ({ browser }) => {
  const id = `timed_${unique()}`;
  writePackage(id, forumYaml(`Timed${unique()}`));
  const change = scan()[id];

  // With JavaScript: the viewer's zone (here UTC+05:30) and a relative text.
  const context = await browser.newContext({ timezoneId: "Asia/Kolkata" });
  const page = await context.newPage();
  await signIn(page, "admin");
  await page.goto(`/changes?package=${id}`);
  const created = page.locator(`tr[data-change="${change}"] time`);
  await expect(created).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  await expect(created).toHaveText(/^(just now|\d+ min ago)$/);
  await expect(created).toHaveAttribute("title", /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\+05:30\)$/);
  // The exact time is the same instant as the datetime attribute, on the viewer's clock.
  const [datetime, title] = [await created.getAttribute("datetime"), await created.getAttribute("title")];
  const local = new Date(Date.parse(datetime!) + 5.5 * 3600_000).toISOString().slice(0, 19).replace("T", " ");
  expect(title).toBe(`${local} (UTC+05:30)`);

  await page.goto(`/changes/${change}`);
  await expect(page.locator("ol.timeline time").first()).toHaveText(/^(just now|\d+ min ago)$/);
  await expect(page.locator("ol.timeline time").first()).toHaveAttribute("title", /\(UTC\+05:30\)$/);
  await page.goto("/audit");
  await expect(page.locator("table time").first()).toHaveAttribute("title", /\(UTC\+05:30\)$/);
  await page.goto("/");
  await expect(page.getByTestId("last-scan").locator("time")).toHaveAttribute("title", /\(UTC\+05:30\)$/);
  await expect(page.getByTestId("updated").locator("time")).toHaveText(/^\d\d:\d\d:\d\d$/);
  await context.close();

  // Without JavaScript: the server's text, in UTC and saying so.
  const plain = await browser.newContext({ javaScriptEnabled: false, timezoneId: "Asia/Kolkata" });
  const still = await plain.newPage();
  await signIn(still, "admin");
  await still.goto(`/changes?package=${id}`);
  const rendered = still.locator(`tr[data-change="${change}"] time`);
  await expect(rendered).toHaveText(/^(just now|\d+ min ago)$/);
  await expect(rendered).toHaveAttribute("title", /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  await still.goto("/");
  await expect(still.getByTestId("updated").locator("time")).toHaveText(/^\d\d:\d\d:\d\d UTC$/);
  await plain.close();
  removePackage(id);
});

test("the access rules a change leaves alone are folded behind their count", async ({ page }) => {
  test.setTimeout(120_000);
  const tag = unique();
  const id = `rules_${tag}`;
  const entity = `Ruled${tag}`;
  const acl = (read: string) => `    acl:\n      create: [user]\n      read: [${read}]\n      update: [admin]\n      delete: [admin]\n`;
  const yaml = (read: string) => forumYaml(entity) + acl(read);
  writePackage(id, yaml("user"));
  const first = scan()[id];
  // Applied first, so that the next change has rules before and after.
  cli(["approve", first, "--as", "admin", "--note", "base"]);
  let out = "";
  try {
    out = cli(["apply", "--json", "--schema-out", path.resolve(__dirname, `../test-results/${id}.prisma`)]);
  } catch (error) {
    // Exit 1 when another test's approved change failed; ours is in the report either way.
    out = String((error as { stdout?: string }).stdout ?? "");
  }
  const applied = JSON.parse(out);
  expect(applied.applied.map((o: { package: string }) => o.package)).toContain(id);

  writePackage(id, yaml("public"));
  const second = scan()[id];
  await signIn(page, "viewer");
  await page.goto(`/changes/${second}`);
  const rules = page.locator("section.access-rules");
  const changed = rules.getByRole("table", { name: "Changed access rules" });
  await expect(changed.locator("tbody tr")).toHaveCount(1);
  await expect(changed.locator("tbody tr")).toHaveText([`${entity}readuserpublic`]);
  const unchanged = rules.getByRole("table", { name: "Unchanged access rules" });
  await expect(unchanged).toBeHidden();
  await rules.getByText("3 unchanged rules").click();
  await expect(unchanged).toBeVisible();
  await expect(unchanged.locator("tbody tr td:nth-child(2)")).toHaveText(["create", "update", "delete"]);
  removePackage(id);
  scan();
});
