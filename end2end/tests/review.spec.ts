import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, test } from "@playwright/test";
import { cli, consoleErrors, forumYaml, forumYamlWithAcl, PACKAGES, removePackage, scan, signIn, unique, writePackage } from "./support";

const SHOTS = path.resolve(__dirname, "../../target/screenshots");

test("an admin approves a pending change and sees its status and audit entry", async ({ page }) => {
  const errors = consoleErrors(page);
  const id = `forum_${unique()}`;
  writePackage(id, forumYaml(`Thread${unique()}`));
  const change = scan()[id];
  await signIn(page, "admin");
  await page.goto(`/changes/${change}`);
  await expect(page.getByRole("heading", { name: id })).toBeVisible();
  const added = page.locator("table.diff tr.add");
  await expect(added.first()).toBeVisible();
  await expect(added.first().locator("td").last()).toHaveCSS("background-color", "rgb(230, 255, 236)");
  // The marker is drawn by the stylesheet, beside the color and outside what is copied or read.
  const marker = await added.first().locator("td").nth(2).evaluate((td) => getComputedStyle(td, "::before").content);
  expect(marker).toContain('"+"');
  await expect(added.first().locator("td").last()).toContainText("added: ");
  await page.screenshot({ path: path.join(SHOTS, "change-detail.png"), fullPage: true });

  await page.getByLabel("Note (optional)").fill("looks right");
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page.locator("[data-status]").first()).toHaveText("approved");
  await expect(page.getByRole("heading", { name: "Decision" })).toHaveCount(0);
  await expect(page.locator("ol.timeline")).toContainText("change.approved by admin: looks right");
  expect(errors).toEqual([]);
});

test("an admin rejects a change with a reason", async ({ page }) => {
  const id = `wiki_${unique()}`;
  writePackage(id, forumYaml(`Page${unique()}`));
  const change = scan()[id];
  await signIn(page, "admin");
  await page.goto(`/changes/${change}`);
  await page.getByLabel("Reason").fill("not this quarter");
  await page.getByRole("button", { name: "Reject" }).click();
  await expect(page.locator("[data-status]").first()).toHaveText("rejected");
  await expect(page.locator("ol.timeline")).toContainText("change.rejected by admin: not this quarter");
});

test("a destructive change needs the package name typed", async ({ page }) => {
  const id = `public_${unique()}`;
  writePackage(id, forumYamlWithAcl(`Open${unique()}`, "public"));
  const change = scan()[id];
  await signIn(page, "admin");
  await page.goto(`/changes/${change}`);
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByRole("alert")).toContainText(`type the package name "${id}" to confirm`);
  await page.getByLabel(/type the package name/).fill(id);
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page.locator("[data-status]").first()).toHaveText("approved");
});

test("a viewer sees no decision controls and a direct POST is refused", async ({ page }) => {
  const id = `view_${unique()}`;
  writePackage(id, forumYaml(`Seen${unique()}`));
  const change = scan()[id];
  await signIn(page, "viewer");
  await page.goto(`/changes/${change}`);
  await expect(page.getByRole("heading", { name: id })).toBeVisible();
  await expect(page.getByRole("button", { name: "Approve" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Reject" })).toHaveCount(0);
  const response = await page.request.post("/api/approve_change", {
    form: { id: change, target_checksum: "v1:x" },
    headers: { Accept: "application/json" },
  });
  expect(response.status()).toBe(403);
  await expect(page.getByRole("link", { name: "Accounts" })).toHaveCount(0);
});

test("a decision on content that changed meanwhile shows a clear message", async ({ page }) => {
  const id = `stale_${unique()}`;
  const entity = `Stale${unique()}`;
  writePackage(id, forumYaml(entity));
  const change = scan()[id];
  await signIn(page, "admin");
  await page.goto(`/changes/${change}`);
  await expect(page.getByRole("button", { name: "Approve" })).toBeVisible();
  // The package changes and is scanned again while the admin looks at the old content.
  writePackage(id, forumYaml(entity).replace("maxLength: 200", "maxLength: 300"));
  scan();
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByRole("alert")).toContainText("cannot approve a change that is superseded");
});

test("the list filters, searches and paginates", async ({ page }) => {
  const tag = unique();
  for (let n = 0; n < 27; n++) writePackage(`bulk_${tag}_${String(n).padStart(2, "0")}`, forumYaml(`Bulk${tag}${n}`));
  scan();
  await signIn(page, "viewer");
  await page.goto("/changes");
  await page.getByLabel("Search").fill(`bulk_${tag}`);
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByTestId("total")).toHaveText("27 change(s)");
  await expect(page.locator("table.changes tbody tr")).toHaveCount(25);
  await page.screenshot({ path: path.join(SHOTS, "change-list.png"), fullPage: true });
  await page.getByRole("link", { name: "Older →" }).click();
  await expect(page.locator("table.changes tbody tr")).toHaveCount(2);
  await expect(page.getByText("Page 2 of 2")).toBeVisible();

  await page.goto(`/changes?q=bulk_${tag}&status=rejected`);
  await expect(page.getByTestId("total")).toHaveText("0 change(s)");
  for (let n = 0; n < 27; n++) removePackage(`bulk_${tag}_${String(n).padStart(2, "0")}`);
});

test("j and k move between changes in the list", async ({ page }) => {
  const tag = unique();
  for (let n = 0; n < 3; n++) writePackage(`keys_${tag}_${n}`, forumYaml(`Keys${tag}${n}`));
  scan();
  await signIn(page, "viewer");
  await page.goto(`/changes?q=keys_${tag}`);
  const links = page.locator("a.change-link");
  await expect(links).toHaveCount(3);
  await expect(async () => {
    await page.locator("h1").click();
    await page.keyboard.press("j");
    await expect(links.nth(0)).toBeFocused({ timeout: 300 });
  }).toPass({ timeout: 10_000 });
  await page.keyboard.press("j");
  await expect(links.nth(1)).toBeFocused();
  await page.keyboard.press("k");
  await expect(links.nth(0)).toBeFocused();
  for (let n = 0; n < 3; n++) removePackage(`keys_${tag}_${n}`);
});

test("signing in and approving work with JavaScript disabled", async ({ browser }) => {
  const id = `nojs_${unique()}`;
  writePackage(id, forumYaml(`NoJs${unique()}`));
  const change = scan()[id];
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("wrong-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("wrong username or password");
  await signIn(page, "admin");
  await page.goto(`/changes/${change}`);
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page.locator("[data-status]").first()).toHaveText("approved");
  const status = JSON.parse(cli(["show", change, "--json"]));
  expect(status.status).toBe("approved");
  await context.close();
});

test("the demo platform's wiki change shows its conflict (the README screenshot)", async ({ page }) => {
  const demo = path.resolve(__dirname, "../../server/demo/packages");
  for (const id of ["forum", "wiki"]) {
    fs.cpSync(path.join(demo, id), path.join(PACKAGES, `demo_${id}`), { recursive: true });
  }
  const change = scan()["demo_wiki"];
  await signIn(page, "admin");
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.goto(`/changes/${change}`);
  await expect(page.getByRole("heading", { name: "⚠ Conflicts: approval blocked" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Approve" })).toBeDisabled();
  // This change's declaration (wiki's) is the left side; the other package's the right.
  await expect(page.locator(".conflict tr.del")).toContainText('"maxLength": "2048"');
  await expect(page.locator("table.comparison")).toContainText("demo_wiki says");
  await page.screenshot({ path: path.join(SHOTS, "readme-change-page.png"), clip: { x: 0, y: 0, width: 1280, height: 1350 }, fullPage: true });
  for (const id of ["forum", "wiki"]) removePackage(`demo_${id}`);
});

test("a reviewer comments on a change and cannot decide it", async ({ page }) => {
  const id = `comment_${unique()}`;
  writePackage(id, forumYaml(`Talk${unique()}`));
  const change = scan()[id];
  await signIn(page, "reviewer");
  await page.goto(`/changes/${change}`);
  await expect(page.getByRole("button", { name: "Approve", exact: true })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Reject" })).toHaveCount(0);
  await page.getByLabel("Comment").fill("should title be unique per tenant?");
  await page.getByRole("button", { name: "Add comment" }).click();
  await expect(page.locator("ol.timeline")).toContainText("change.commented by reviewer: should title be unique per tenant?");
});

test("a change whose plan was refused shows the refused statement and no Approve", async ({ page }) => {
  const id = `refused_${unique()}`;
  writePackage(id, forumYaml(`Crafted${unique()}`));
  const change = scan()[id];
  // A plan that reaches beyond its change, as a hostile name once made Prisma write: stored in
  // the registry, the next scan's check refuses it.
  execFileSync("psql", [
    process.env.DATABASE_URL ?? "",
    "-qc",
    `update schemagate.schema_change set plan_sql = plan_sql || E'\\nDROP TABLE "User";\\n' where id = '${change}'`,
  ]);
  scan();
  await signIn(page, "admin");
  await page.goto(`/changes/${change}`);
  await expect(page.getByTestId("plan-error")).toContainText("The plan check refuses this plan");
  const refused = page.getByTestId("refused-statement");
  await expect(refused).toHaveCount(1);
  await expect(refused).toContainText('drops table "User", which this change does not declare');
  await expect(page.locator("li.statement.refused pre.sql")).toContainText('DROP TABLE "User"');
  await expect(page.getByRole("button", { name: /^Approve/ })).toHaveCount(0);
  await expect(page.getByTestId("plan-refused-decision")).toBeVisible();
  let refusal = "";
  try {
    cli(["approve", change, "--as", "admin"]);
  } catch (error) {
    refusal = String((error as { stderr?: string }).stderr ?? error);
  }
  // Planned again by Prisma's engine, the change's own SQL replaces the altered plan: the approval
  // is refused, and the reviewer looks again at what would really run.
  expect(refusal).toContain(`the SQL plan of ${id} changed since it was shown`);
});
