import * as path from "node:path";
import { expect, test } from "@playwright/test";
import { cli, consoleErrors, forumYaml, removePackage, scan, signIn, unique, writePackage } from "./support";

const SHOTS = path.resolve(__dirname, "../../target/screenshots");

test("the packages page lists a package with its entities and Prisma preview", async ({ page }) => {
  const errors = consoleErrors(page);
  const id = `catalog_${unique()}`;
  const entity = `Listing${unique()}`;
  writePackage(id, forumYaml(entity));
  const change = scan()[id];
  await signIn(page, "viewer");
  await page.getByRole("link", { name: "Packages" }).click();
  await expect(page.getByRole("heading", { name: "Packages", level: 1 })).toBeVisible();
  await page.getByLabel("Search").fill(id);
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(new RegExp(`q=${id}`));

  const section = page.getByRole("region", { name: id });
  await expect(section).toBeVisible();
  await expect(section.locator("[data-state]").first()).toHaveText("change queued");
  await expect(section.getByRole("rowheader", { name: entity })).toBeVisible();
  await expect(section.locator("code.checksum").first()).toHaveAttribute("title", /^v1:[0-9a-f]{64}$/);
  await expect(section.getByTestId("open-change")).toHaveAttribute("href", `/changes/${change}`);

  const preview = section.locator("pre.prisma");
  await expect(preview).toBeHidden();
  await section.getByText("Prisma preview").click();
  await expect(preview).toBeVisible();
  await expect(preview).toContainText(`model ${entity} {`);
  await page.screenshot({ path: path.join(SHOTS, "packages.png"), fullPage: true });
  expect(errors).toEqual([]);
  removePackage(id);
});

test("the packages page shows a broken package's errors with file, line and column", async ({ page }) => {
  const id = `broken_${unique()}`;
  writePackage(id, forumYaml(`Broken${unique()}`).replace("type: string, required: true, maxLength", "type: jsonb, required: true, maxLength"));
  scan();
  await signIn(page, "viewer");
  await page.goto(`/packages?q=${id}`);
  const section = page.getByRole("region", { name: id });
  await expect(section.locator("[data-state]").first()).toHaveText("has errors");
  await expect(section.locator(".issues.errors li").first()).toContainText(`${id}/seed/schema/entities.yaml:6:`);
  await expect(section.locator(".issues.errors li").first()).toContainText('unknown field type "jsonb"');
  await expect(section.getByText("No Prisma preview")).toBeVisible();
  removePackage(id);
});

test("the entities page shows a conflict between two packages", async ({ page }) => {
  const errors = consoleErrors(page);
  const tag = unique();
  const entity = `Shared${tag}`;
  const [first, second] = [`left_${tag}`, `right_${tag}`];
  writePackage(first, forumYaml(entity));
  writePackage(second, forumYaml(entity).replace("maxLength: 200", "maxLength: 300"));
  const changes = scan();
  await signIn(page, "reviewer");
  await page.getByRole("link", { name: "Entities" }).click();
  await page.getByLabel("Search").fill(entity);
  await page.getByLabel("Show").selectOption("conflict");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/show=conflict/);

  const row = page.getByRole("row", { name: new RegExp(entity) });
  await expect(row).toHaveCount(1);
  await expect(row).toHaveClass(/conflict/);
  await expect(row.getByText("⚠ conflict")).toBeVisible();
  for (const id of [first, second]) {
    const declaration = row.locator(`li[data-package="${id}"]`);
    await expect(declaration.getByRole("link", { name: id })).toBeVisible();
    await expect(declaration.locator("a.change-ref")).toHaveAttribute("href", `/changes/${changes[id]}`);
  }
  const checksums = await row.locator("code.checksum").evaluateAll((nodes) => nodes.map((n) => n.getAttribute("title")));
  expect(new Set(checksums).size).toBe(2);
  await page.screenshot({ path: path.join(SHOTS, "entities.png"), fullPage: true });
  expect(errors).toEqual([]);
  removePackage(first);
  removePackage(second);
});

test("the audit page filters by action and shows the chain as intact", async ({ page }) => {
  const errors = consoleErrors(page);
  await signIn(page, "viewer");
  await page.getByRole("link", { name: "Audit" }).click();
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  await expect(page.getByTestId("chain")).toContainText("Hash chain intact");
  await page.getByLabel("Action starts with").fill("login.");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=login\./);
  const rows = page.locator("table.audit tbody tr");
  await expect(rows.first()).toHaveAttribute("data-action", /^login\./);
  const actions = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-action") ?? ""));
  expect(actions.length).toBeGreaterThan(0);
  expect(actions.length).toBeLessThanOrEqual(50);
  expect(actions.every((a) => a.startsWith("login."))).toBe(true);
  await expect(rows.first().getByRole("link", { name: "viewer" })).toBeVisible();
  await page.screenshot({ path: path.join(SHOTS, "audit.png"), fullPage: true });

  // The export carries the same filters.
  const csvLink = page.getByRole("link", { name: "CSV" });
  await expect(csvLink).toHaveAttribute("href", /^\/audit\/export\?format=csv&action=login\./);
  const csv = await page.request.get((await csvLink.getAttribute("href"))!);
  expect(csv.status()).toBe(200);
  expect(csv.headers()["content-disposition"]).toContain("attachment");
  const lines = (await csv.text()).trim().split("\r\n");
  expect(lines[0]).toBe("seq,at,actor,action,change_id,package,details,prev_hash,hash,mac");
  expect(lines.slice(1).every((line) => line.split(",")[3].startsWith("login."))).toBe(true);
  expect(errors).toEqual([]);
});

test("an audit event links to its change", async ({ page }) => {
  const id = `audited_${unique()}`;
  writePackage(id, forumYaml(`Audited${unique()}`));
  const change = scan()[id];
  await signIn(page, "viewer");
  await page.goto(`/audit?package=${id}`);
  const link = page.locator("table.audit a.change-ref").first();
  await expect(link).toHaveAttribute("href", `/changes/${change}`);
  await link.click();
  await expect(page.getByRole("heading", { name: id })).toBeVisible();
  removePackage(id);
});

test("an admin adds an account, changes its role and disables it", async ({ page }) => {
  const errors = consoleErrors(page);
  const name = `user${unique()}`;
  await signIn(page, "admin");
  await page.getByRole("link", { name: "Accounts" }).click();
  await expect(page.getByRole("heading", { name: "Accounts" })).toBeVisible();
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Role", { exact: true }).selectOption("reviewer");
  await page.getByLabel("Password").fill(`${name}-password`);
  await page.getByRole("button", { name: "Add account" }).click();
  const row = page.locator(`tr[data-account="${name}"]`);
  await expect(row.getByTestId("role")).toHaveText("reviewer");
  await expect(row).toContainText("active");

  await row.getByLabel(`Role of ${name}`).selectOption("viewer");
  await row.getByRole("button", { name: `Change role of ${name}` }).click();
  await expect(row.getByTestId("role")).toHaveText("viewer");

  // Disabling asks first.
  await expect(row.getByRole("button", { name: `Disable ${name}` })).toBeHidden();
  await row.getByText("Disable…").click();
  await expect(row).toContainText("will no longer be able to sign in");
  await row.getByRole("button", { name: `Disable ${name}` }).click();
  await expect(row).toContainText("disabled");
  await expect(row.getByRole("button")).toHaveText([`Enable ${name}`]);
  await page.screenshot({ path: path.join(SHOTS, "accounts.png"), fullPage: true });

  const listed = () =>
    JSON.parse(cli(["user", "list", "--json"])).find((a: { username: string }) => a.username === name);
  expect(listed()).toMatchObject({ role: "viewer", disabled: true });

  // And it can be undone.
  await row.getByRole("button", { name: `Enable ${name}` }).click();
  await expect(row).toContainText("active");
  expect(listed()).toMatchObject({ role: "viewer", disabled: false });
  await page.goto(`/audit?action=account.enabled`);
  await expect(page.locator('tr[data-action="account.enabled"]').first()).toContainText(name);
  // No controls for the admin's own account.
  await expect(page.getByRole("button", { name: "Disable admin" })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("adding an account works with JavaScript disabled and shows refusals", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, "admin");
  await page.goto("/accounts");
  const name = `nojs${unique()}`;
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill("short");
  // The browser's own check would stop a short password; the server's message is what we test.
  await page.getByLabel("Password").evaluate((input) => input.removeAttribute("minlength"));
  await page.getByRole("button", { name: "Add account" }).click();
  await expect(page.getByRole("alert")).toContainText("password too short");
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(`${name}-password`);
  await page.getByRole("button", { name: "Add account" }).click();
  await expect(page.locator(`tr[data-account="${name}"]`).getByTestId("role")).toHaveText("viewer");
  await expect(page.getByRole("alert")).toHaveCount(0);
  await context.close();
});

test("a viewer gets no Accounts link and the page says admins only", async ({ page }) => {
  await signIn(page, "viewer");
  await expect(page.getByRole("link", { name: "Accounts" })).toHaveCount(0);
  await page.goto("/accounts");
  await expect(page.getByRole("alert")).toContainText("Admins only");
  await expect(page.getByRole("button", { name: "Add account" })).toHaveCount(0);
  await expect(page.getByRole("table")).toHaveCount(0);
  const response = await page.request.post("/api/create_account", {
    form: { username: `sneaky${unique()}`, role: "admin", password: "sneaky-password" },
    headers: { Accept: "application/json" },
  });
  expect(response.status()).toBe(403);
});
