import { expect, test } from "@playwright/test";
import { forumYaml, forumYamlWithAcl, removePackage, scan, unique, writePackage } from "./support";

async function signInHere(page: import("@playwright/test").Page, user: string) {
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(`${user}-password`);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a deep link survives signing in", async ({ page }) => {
  const id = `deep_${unique()}`;
  writePackage(id, forumYaml(`Deep${unique()}`));
  const change = scan()[id];
  await page.goto(`/changes/${change}?view=split`);
  await expect(page).toHaveURL(new RegExp(`/login\\?next=`));
  await expect(page).toHaveTitle("Sign in · Schemagate");
  await signInHere(page, "viewer");
  await expect(page).toHaveURL(new RegExp(`/changes/${change}\\?view=split$`));
  await expect(page.getByRole("heading", { name: id })).toBeVisible();
  await expect(page).toHaveTitle(`Change ${id} · Schemagate`);
  removePackage(id);
});

test("a deep link survives signing in without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/audit?action=scan");
  await expect(page).toHaveURL(/\/login\?next=%2Faudit%3Faction%3Dscan$/);
  await signInHere(page, "viewer");
  await expect(page).toHaveURL(/\/audit\?action=scan$/);
  await context.close();
});

test("a next address on another site is ignored", async ({ page }) => {
  for (const next of ["//evil.example/x", "https://evil.example/", "/\\evil.example"]) {
    await page.context().clearCookies();
    await page.goto(`/login?next=${encodeURIComponent(next)}`);
    await signInHere(page, "viewer");
    await expect(page.getByTestId("signed-in")).toContainText("viewer");
    expect(new URL(page.url()).pathname).toBe("/");
  }
  // The form itself never carries it, and a direct POST does not follow it either.
  await page.context().clearCookies();
  const response = await page.request.post("/api/login", {
    form: { username: "viewer", password: "viewer-password", next: "//evil.example/x" },
    headers: { accept: "text/html" },
    maxRedirects: 0,
  });
  expect(response.headers()["location"]).toBe("/");
});

test("titles name the page and the navigation marks where you are", async ({ page }) => {
  await page.goto("/login");
  await signInHere(page, "admin");
  await expect(page).toHaveTitle("Dashboard · Schemagate");
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Dashboard" })).toHaveAttribute("aria-current", "page");
  for (const [name, title] of [
    ["Changes", "Changes · Schemagate"],
    ["Packages", "Packages · Schemagate"],
    ["Entities", "Entities · Schemagate"],
    ["Audit", "Audit log · Schemagate"],
    ["Accounts", "Accounts · Schemagate"],
  ]) {
    await nav.getByRole("link", { name }).click();
    await expect(page).toHaveTitle(title);
    await expect(nav.getByRole("link", { name })).toHaveAttribute("aria-current", "page");
    await expect(nav.locator('[aria-current="page"]')).toHaveCount(1);
  }
});

test("an unknown change or page answers 404 with the site's navigation", async ({ page }) => {
  await page.goto("/login");
  await signInHere(page, "viewer");
  await expect(page.getByTestId("signed-in")).toContainText("viewer");
  const missing = await page.goto("/changes/00000000-0000-0000-0000-000000000000");
  expect(missing!.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Change not found" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Changes" })).toBeVisible();

  const nowhere = await page.goto("/no-such-page");
  expect(nowhere!.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  await expect(page).toHaveTitle("Page not found · Schemagate");
});

test("a destructive change asks for the name in an empty field, with a red Approve and the risk in words", async ({ page }) => {
  const id = `danger_${unique()}`;
  writePackage(id, forumYamlWithAcl(`Open${unique()}`, "public"));
  const change = scan()[id];
  await page.goto("/login");
  await signInHere(page, "admin");
  await expect(page.getByTestId("signed-in")).toContainText("admin");
  await page.goto(`/changes/${change}`);
  const field = page.getByLabel(`To approve, type the package name: ${id}`);
  await expect(field).toHaveValue("");
  await expect(field).not.toHaveAttribute("placeholder", /.+/);
  const approve = page.getByRole("button", { name: /^Approve/ });
  await expect(approve).toHaveClass(/danger/);
  await expect(approve).toHaveCSS("background-color", "rgb(207, 34, 46)");
  await expect(page.locator("dl.facts [data-risk]")).not.toContainText("_");
  await expect(page.locator("dl.facts")).not.toContainText("cli:");
  await approve.click();
  await expect(page.getByRole("alert")).not.toContainText("_loss");
  await field.fill(id);
  await approve.click();
  await expect(page.locator("[data-status]").first()).toHaveText("approved");
  removePackage(id);
});
