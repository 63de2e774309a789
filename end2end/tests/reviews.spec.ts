import { ChildProcess, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { Browser, expect, Page, test } from "@playwright/test";
import { BIN, forumYaml, freshDatabase, scan, signIn, startServer, unique, writePackage } from "./support";

// Reviews that carry weight: a confirmation and the next pending change after each decision,
// reviewers requesting changes, and four-eyes on a destructive change.

async function noAxeViolations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(summary, `${page.url()} has accessibility violations`).toEqual([]);
}

/** A page of its own, signed in as `user` (so two accounts can act side by side). */
async function signedIn(browser: Browser, user: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, user);
  return page;
}

test("after a decision the page confirms it and links to the next pending change", async ({ page }) => {
  const first = `first_${unique()}`;
  const second = `second_${unique()}`;
  writePackage(first, forumYaml(`First${unique()}`));
  const firstChange = scan()[first];
  writePackage(second, forumYaml(`Second${unique()}`));
  const secondChange = scan()[second];

  await signIn(page, "admin");
  await page.goto(`/changes/${firstChange}`);
  await page.getByRole("button", { name: "Approve", exact: true }).click();
  const confirmation = page.getByRole("status").filter({ hasText: "Approved" });
  await expect(confirmation).toContainText(`Approved ${first}`);
  await expect(page).toHaveURL(new RegExp(`/changes/${firstChange}\\?decided=approved$`));
  await expect(page.locator("[data-status]").first()).toHaveText("approved");
  await noAxeViolations(page);

  // The oldest pending change after this one is the one scanned right after it.
  await confirmation.getByRole("link", { name: `Next pending change: ${second}` }).click();
  await expect(page).toHaveURL(new RegExp(`/changes/${secondChange}$`));
  await expect(page.getByRole("status").filter({ hasText: "Approved" })).toHaveCount(0);
  await page.getByLabel("Reason").fill("not needed");
  await page.getByRole("button", { name: "Reject" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Rejected" })).toContainText(`Rejected ${second}`);

  // A hand-made link claims nothing the change's state does not show.
  await page.goto(`/changes/${secondChange}?decided=approved`);
  await expect(page.getByTestId("decided")).toHaveCount(0);
});

test("a reviewer's requested changes show in the queue and block a plain approval", async ({ browser }) => {
  const id = `asked_${unique()}`;
  writePackage(id, forumYaml(`Asked${unique()}`));
  const change = scan()[id];

  const reviewer = await signedIn(browser, "reviewer");
  await reviewer.goto(`/changes/${change}`);
  await expect(reviewer.getByRole("button", { name: "Approve", exact: true })).toHaveCount(0);
  await reviewer.getByRole("button", { name: "Request changes" }).click();
  await expect(reviewer.getByRole("alert")).toContainText("requesting changes needs a comment");
  await reviewer.getByLabel("Your review").fill("title needs an index");
  await reviewer.getByRole("button", { name: "Request changes" }).click();
  const reviews = reviewer.locator("section.reviews");
  await expect(reviews.locator("li[data-verdict=request_changes]")).toContainText("reviewer");
  await expect(reviews).toContainText("title needs an index");
  await expect(reviewer.locator("ol.timeline")).toContainText("change.changes_requested by reviewer: title needs an index");
  // A reviewer-level verdict is not a decision.
  await expect(reviewer.locator("[data-status]").first()).toHaveText("pending");
  await noAxeViolations(reviewer);

  await reviewer.goto(`/changes?q=${id}`);
  const row = reviewer.locator(`tr[data-change="${change}"]`);
  await expect(row.getByTestId("changes-requested")).toHaveText("changes requested");
  await noAxeViolations(reviewer);

  const admin = await signedIn(browser, "admin");
  await admin.goto(`/changes/${change}`);
  await expect(admin.getByTestId("changes-requested")).toContainText("Changes requested by reviewer");
  const confirm = admin.getByLabel(`Changes were requested by reviewer. To approve, type the package name: ${id}`);
  await expect(confirm).toBeEmpty();
  await admin.getByRole("button", { name: "Approve anyway" }).click();
  await expect(admin.getByRole("alert")).toContainText(`changes were requested by reviewer: type the package name "${id}" to approve anyway`);
  await expect(admin.locator("[data-status]").first()).toHaveText("pending");

  await admin.getByLabel(/To approve, type the package name/).fill(id);
  await admin.getByRole("button", { name: "Approve anyway" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "Approved" })).toContainText(`Approved ${id}`);
  await expect(admin.locator("[data-status]").first()).toHaveText("approved");
});

// Four-eyes is a registry setting: turned on here in a registry of its own, with its own server,
// so that the other tests' approvals are not affected.
const ROOT = path.resolve(__dirname, "../..");
const PORT = Number(process.env.E2E_FOUR_EYES_PORT ?? 3108);
const BASE = `http://127.0.0.1:${PORT}`;

test.describe("four-eyes", () => {
  let server: ChildProcess | undefined;
  let url = "";
  let change = "";
  const pkg = `ledger_${unique()}`;

  function run(args: string[], input = ""): string {
    return execFileSync(BIN, ["--database-url", url, ...args], {
      input,
      encoding: "utf8",
      env: { ...process.env, RUST_LOG: "warn" },
    });
  }

  test.beforeAll(async () => {
    test.setTimeout(120_000);
    url = freshDatabase("four_eyes");
    const work = path.join(ROOT, "target/e2e-four-eyes", path.basename(new URL(url).pathname));
    const packages = path.join(work, "packages");
    const schema = path.join(packages, pkg, "seed/schema");
    fs.mkdirSync(schema, { recursive: true });
    for (const admin of ["admin", "second"]) run(["user", "add", admin, "--role", "admin"], `${admin}-password\n`);

    // Applied with a title column; the package then drops it: a data-loss change.
    const entity = `Entry${unique()}`;
    fs.writeFileSync(path.join(schema, "entities.yaml"), forumYaml(entity));
    run(["--packages", packages, "scan"]);
    run(["approve", "--all", "--as", "admin"]);
    run(["apply", "--schema-out", path.join(work, "schema.prisma")]);
    fs.writeFileSync(
      path.join(schema, "entities.yaml"),
      forumYaml(entity).replace("      title: { type: string, required: true, maxLength: 200 }\n", ""),
    );
    const report = JSON.parse(run(["--packages", packages, "scan", "--json"]));
    change = report.created.find((c: { package: string }) => c.package === pkg).change;

    server = await startServer(url, ["--packages", packages], PORT);
  });

  test.afterAll(() => {
    server?.kill();
  });

  async function signInHere(browser: Browser, user: string): Promise<Page> {
    const page = await (await browser.newContext({ baseURL: BASE })).newPage();
    await page.goto("/login");
    await page.getByLabel("Username").fill(user);
    await page.getByLabel("Password").fill(`${user}-password`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("signed-in")).toContainText(user);
    return page;
  }

  async function approveTyped(page: Page) {
    await page.getByLabel(/type the package name/).fill(pkg);
    await page.getByRole("button", { name: "Approve (data loss)" }).click();
  }

  test("a destructive change needs a second admin; the same admin is refused", async ({ browser }) => {
    const admin = await signInHere(browser, "admin");
    // An admin turns it on for the registry, on the accounts page; the change is audited.
    await admin.goto("/accounts");
    const settings = admin.getByRole("region", { name: "Settings" });
    await expect(settings.getByTestId("four-eyes")).toContainText("Four-eyes is off.");
    await settings.getByRole("button", { name: "Turn four-eyes on" }).click();
    await expect(settings.getByTestId("four-eyes")).toContainText("Four-eyes is on.");
    await expect(settings.getByRole("button", { name: "Turn four-eyes off" })).toBeVisible();
    await noAxeViolations(admin);
    const events = JSON.parse(run(["audit", "list", "--json"]));
    const changed = events.filter(
      (e: { action: string; details: { setting?: string } }) => e.action === "setting.changed" && e.details.setting === "four_eyes",
    );
    expect(changed.map((e: { actor: string; details: unknown }) => [e.actor, e.details])).toEqual([
      ["admin", { setting: "four_eyes", old: "off", new: "on" }],
    ]);

    await admin.goto(`/changes/${change}`);
    await expect(admin.locator("[data-risk]").first()).toHaveText("data loss");
    await expect(admin.getByTestId("admin-approvals")).toContainText("0 of 2 admin approvals");
    await approveTyped(admin);
    await expect(admin.getByRole("status").filter({ hasText: "Recorded" })).toContainText(
      `Recorded your approval of ${pkg}: 1 of 2 admin approvals`,
    );
    await expect(admin.locator("[data-status]").first()).toHaveText("pending");
    await expect(admin.getByTestId("admin-approvals")).toContainText("1 of 2 admin approvals (given by admin)");
    await expect(admin.locator("ol.timeline")).toContainText("change.first_approval by admin");
    await noAxeViolations(admin);

    // The same admin again: the panel says so before any typing, and Approve is disabled.
    await expect(admin.getByTestId("decision-capability")).toContainText(
      "You cannot approve this change: admin already gave the first approval; four-eyes needs a second admin. You can reject it, or withdraw your first approval.",
    );
    await expect(admin.getByRole("button", { name: "Approve (data loss)" })).toBeDisabled();
    await expect(admin.getByLabel(/type the package name/)).toHaveCount(0);
    // Withdrawn, the approval is gone; given again, it is the first once more.
    await admin.getByRole("button", { name: "Withdraw my approval" }).click();
    await expect(admin.getByTestId("admin-approvals")).toContainText("0 of 2 admin approvals");
    await expect(admin.locator("ol.timeline")).toContainText("change.first_approval_withdrawn by admin");
    await approveTyped(admin);
    await expect(admin.getByTestId("admin-approvals")).toContainText("1 of 2 admin approvals (given by admin)");
    await expect(admin.locator("[data-status]").first()).toHaveText("pending");

    const second = await signInHere(browser, "second");
    await second.goto(`/changes/${change}`);
    await expect(second.getByTestId("admin-approvals")).toContainText("1 of 2 admin approvals (given by admin)");
    await approveTyped(second);
    const done = second.getByRole("status").filter({ hasText: "Approved" });
    await expect(done).toContainText(`Approved ${pkg}`);
    await expect(second.locator("[data-status]").first()).toHaveText("approved");
    // Nothing else waits on this registry.
    await expect(done).toContainText("No more pending changes.");
    await done.getByRole("link", { name: "Back to the queue" }).click();
    await expect(second).toHaveURL(`${BASE}/changes`);
    const shown = JSON.parse(run(["show", change, "--json"]));
    expect(shown.status).toBe("approved");
    expect(shown.decided_by).toBe("second");
  });
});
