import { ChildProcess, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, Page, test } from "@playwright/test";
import { BIN, freshDatabase, startServer } from "./support";

// The demo platform from a fresh registry, played the way a new admin would: a change that
// depends on a pending package, a conflict resolved by a rejection, approvals in dependency
// order, a bulk approval of the rest, and the restart job applying everything.

const ROOT = path.resolve(__dirname, "../..");
const DEMO = path.join(ROOT, "server/demo");
const PORT = Number(process.env.E2E_STORY_PORT ?? 3107);
const BASE = `http://127.0.0.1:${PORT}`;

function run(url: string, args: string[], input = ""): string {
  return execFileSync(BIN, ["--database-url", url, "--base-schema", path.join(DEMO, "base.prisma"), ...args], {
    input,
    encoding: "utf8",
    env: { ...process.env, RUST_LOG: "warn" },
  });
}

async function openChange(page: Page, ids: Record<string, string>, pkg: string) {
  await page.goto(`${BASE}/changes/${ids[pkg]}`);
  await expect(page.getByRole("heading", { name: pkg, exact: false }).first()).toBeVisible();
}

/** Approves the open change page, typing the package name when its risk asks for it. */
async function approveHere(page: Page, pkg: string) {
  const confirm = page.getByLabel(/type the package name/);
  if (await confirm.count()) await confirm.fill(pkg);
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page.locator("[data-status]").first()).toHaveText("approved");
}

test.describe("the demo platform, start to finish", () => {
  let server: ChildProcess | undefined;
  let url = "";
  let work = "";

  test.beforeAll(async () => {
    url = freshDatabase("story");
    work = path.join(ROOT, "target/e2e-story", path.basename(new URL(url).pathname));
    fs.mkdirSync(work, { recursive: true });
    fs.cpSync(path.join(DEMO, "packages"), path.join(work, "packages"), { recursive: true });
    run(url, ["user", "add", "admin", "--role", "admin"], "admin-password\n");
    server = await startServer(
      url,
      ["--packages", path.join(work, "packages"), "--base-schema", path.join(DEMO, "base.prisma")],
      PORT,
    );
  });

  test.afterAll(() => {
    server?.kill();
  });

  test("every change ends applied or rejected and the restart job exits 0", async ({ page }) => {
    test.setTimeout(120_000);
    // The start-up scan runs in the background: wait for its four changes.
    let listed: { id: string; package: string; status: string }[] = [];
    for (let i = 0; i < 120 && listed.length < 4; i++) {
      listed = JSON.parse(run(url, ["list", "--json"]));
      if (listed.length < 4) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const ids: Record<string, string> = {};
    for (const change of listed) ids[change.package] = change.id;
    expect(Object.keys(ids).sort()).toEqual(["billing", "forum", "notifications", "wiki"]);

    await page.goto(`${BASE}/login`);
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill("admin-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("signed-in")).toContainText("admin");

    // notifications relates to ForumThread, which only the pending forum declares.
    await openChange(page, ids, "notifications");
    const dependencies = page.locator("table.dependencies");
    await expect(dependencies).toContainText("ForumThread");
    await expect(dependencies).toContainText("forum");
    await expect(dependencies).toContainText("pending");
    await expect(page.getByRole("button", { name: "Approve" })).toBeDisabled();
    await dependencies.getByRole("link").first().click();
    await expect(page).toHaveURL(new RegExp(`/changes/${ids.forum}$`));

    // forum is blocked by wiki's different Attachment: the panel names each difference.
    const comparison = page.locator("table.comparison");
    await expect(comparison).toContainText("forum says");
    await expect(comparison).toContainText("wiki says");
    await expect(page.locator("ul.advice")).toContainText("wiki");
    await expect(page.getByRole("button", { name: "Approve" })).toBeDisabled();

    // Rejecting wiki resolves the conflict.
    await openChange(page, ids, "wiki");
    await page.getByLabel("Reason").fill("forum's Attachment is the one we keep");
    await page.getByRole("button", { name: "Reject" }).click();
    await expect(page.locator("[data-status]").first()).toHaveText("rejected");

    await openChange(page, ids, "forum");
    await expect(page.locator("section.conflict")).toHaveCount(0);
    // The SQL it will run, planned by Prisma's engine, with the lock each statement takes.
    const plan = page.getByRole("region", { name: /^SQL plan/ });
    await expect(plan).toContainText("CREATE TABLE");
    await expect(plan.locator("li.statement").first()).toContainText("lock:");
    await approveHere(page, "forum");

    // Its dependency approved, notifications goes through in the same sitting: it could not be
    // planned while ForumThread was not approved, so it is planned again first (an explicit step:
    // reading a change never plans it).
    await openChange(page, ids, "notifications");
    await expect(page.locator("table.dependencies")).toContainText("approved");
    await expect(page.getByRole("button", { name: "Approve" })).toBeDisabled();
    await page.getByRole("button", { name: "Plan now" }).click();
    await expect(page.getByRole("region", { name: /^SQL plan/ })).toContainText("CREATE TABLE");
    await approveHere(page, "notifications");

    // billing's ACLs become row-level-security policies: a security change, which the bulk
    // approval leaves for a decision of its own.
    await page.goto(`${BASE}/changes/approve-all`);
    await expect(page.getByRole("heading", { name: "To approve (0)" })).toBeVisible();
    await expect(page.locator("main")).toContainText("security risk needs a decision of its own");
    await openChange(page, ids, "billing");
    await expect(page.getByRole("region", { name: /^SQL plan/ })).toContainText("CREATE POLICY");
    await approveHere(page, "billing");

    const schemaOut = path.join(work, "schema.prisma");
    const report = JSON.parse(run(url, ["apply", "--json", "--schema-out", schemaOut]));
    expect(report.failed).toEqual([]);
    expect(report.held_back).toEqual([]);
    expect(report.applied.map((o: { package: string }) => o.package)).toEqual(["forum", "notifications", "billing"]);

    // The Database page shows the applied migrations and no drift.
    await page.goto(`${BASE}/database`);
    await expect(page.locator("table.migrations")).toContainText("_forum_");
    await expect(page.getByTestId("no-drift")).toBeVisible();

    const final: { package: string; status: string }[] = JSON.parse(run(url, ["list", "--json"]));
    const states = Object.fromEntries(final.map((c) => [c.package, c.status]));
    expect(states).toEqual({ billing: "applied", forum: "applied", notifications: "applied", wiki: "rejected" });
  });
});
