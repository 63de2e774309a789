import * as path from "node:path";
import { expect, Page, test } from "@playwright/test";
import { BIN, cli, fitsTheWindow, forumYaml, forumYamlWithAcl, removePackage, scan, signIn, unique, writePackage } from "./support";

// Every state reads as what it is, on a phone and on a laptop: a failed change leads with what
// the database said, blocked and broken-package conflicts are badged, and the change page leads
// with the decision, with a table of contents, deep links and SQL grouped by table.
const WIDTHS = [390, 1280];

/** A package whose entity relates to `target` (another package's entity). */
function dependentYaml(entity: string, target: string): string {
  return `entities:
  - name: ${entity}
    fields:
      id: { type: cuid, primary: true, generated: true }
      parentId: { type: string, required: false }
    relations:
      - { name: parent, type: belongsTo, entity: ${target}, field: parentId, optional: true }
`;
}

/** Runs the restart job with a migrate command that fails `failing` with PostgreSQL's words
 *  and deploys every other change's migration as a platform's `prisma migrate deploy` would. */
function applyFailing(failing: string, message: string) {
  const deploy = `'${BIN}' db deploy "$SCHEMAGATE_MIGRATIONS_DIR" > /dev/null`;
  const command = `case "$SCHEMAGATE_PACKAGE" in ${failing}) printf '%s\\n' '${message}' >&2; exit 1;; *) ${deploy};; esac`;
  const schemaOut = path.resolve(__dirname, `../test-results/${failing}.prisma`);
  try {
    cli(["apply", "--json", "--schema-out", schemaOut, "--migrate-cmd", command]);
  } catch (error) {
    // Exit 1: a change failed, which is the point.
    return JSON.parse(String((error as { stdout?: string }).stdout ?? "{}"));
  }
  throw new Error("the restart job failed nothing");
}

/** The top of an element in page coordinates. */
async function top(page: Page, selector: string): Promise<number> {
  const box = await page.locator(selector).first().boundingBox();
  expect(box, `${selector} is laid out`).toBeTruthy();
  return box!.y;
}

for (const width of WIDTHS) {
  test(`a failed change leads with the database's error and its dependent is badged held back at ${width} px`, async ({ page }) => {
    test.setTimeout(120_000);
    const tag = unique();
    const [base, dependent] = [`failing_${tag}`, `waiting_${tag}`];
    const entity = `Failing${tag}`;
    writePackage(base, forumYaml(entity));
    const ids = scan();
    cli(["approve", ids[base], "--as", "admin"]);
    // Scanned after its dependency's approval, so that its plan is made over it.
    writePackage(dependent, dependentYaml(`Waiting${tag}`, entity));
    Object.assign(ids, scan());
    cli(["approve", ids[dependent], "--as", "admin"]);
    const said = `ERROR:  permission denied for schema public (${tag})`;
    const report = applyFailing(base, said);
    expect(report.failed.map((o: { package: string }) => o.package)).toContain(base);
    expect(report.held_back.map((o: { package: string }) => o.package)).toContain(dependent);

    await page.setViewportSize({ width, height: 900 });
    await signIn(page, "viewer");
    await page.goto(`/changes?status=all&q=${tag}`);
    const failedRow = page.locator(`tr[data-change="${ids[base]}"]`);
    await expect(failedRow.locator(".badge.status-failed")).toHaveText("failed");
    const waitingRow = page.locator(`tr[data-change="${ids[dependent]}"]`);
    await expect(waitingRow.getByTestId("held-back")).toHaveText(`held back: ${base} failed`);
    await fitsTheWindow(page);

    // The failed change: the database's words come first, open, before the decision and items.
    await page.goto(`/changes/${ids[base]}`);
    const failed = page.locator("section.panel.failed");
    await expect(failed.getByRole("heading", { name: "Failed" })).toBeVisible();
    await expect(failed.locator("pre")).toContainText(said);
    await expect(failed.locator("pre")).toBeVisible();
    expect(await top(page, "section.panel.failed")).toBeLessThan(await top(page, "#items-h"));
    expect(await top(page, "section.panel.failed")).toBeLessThan(await top(page, "#sql-h"));
    await expect(failed.getByTestId("failure-next")).toContainText("fix its cause on the platform database");
    // A viewer is told who can send it back, and offered nothing.
    await expect(failed.getByRole("button", { name: "Retry" })).toHaveCount(0);
    await expect(failed).toContainText("Only an admin can send it back to the restart job.");
    await fitsTheWindow(page);

    // The held-back change says why and what unblocks it.
    await page.goto(`/changes/${ids[dependent]}`);
    await expect(page.getByTestId("held-back")).toContainText(`held back: ${base} failed`);
    await expect(page.getByTestId("held-back")).toContainText(`retry ${base}'s change`);

    // An admin retries the failure, which a retry can cure; the change goes back to the queue.
    await page.context().clearCookies();
    await signIn(page, "admin");
    await page.goto(`/changes/${ids[base]}`);
    await page.locator("section.panel.failed").getByRole("button", { name: "Retry" }).click();
    await expect(page.locator("dl.facts .badge.status-approved")).toBeVisible();
    await expect(page.locator("section.panel.failed")).toHaveCount(0);
    removePackage(base);
    removePackage(dependent);
  });

  test(`a conflict with a package that has errors is badged, named on the change and left out of bulk approval at ${width} px`, async ({ page }) => {
    const tag = unique();
    const [good, broken] = [`sound_${tag}`, `broken_${tag}`];
    const entity = `Shared${tag}`;
    writePackage(good, forumYaml(entity));
    // The same entity with another title length, and another entity with a field of an unknown type.
    const mistake = `  - name: Other${tag}\n    fields:\n      id: { type: cuid, primary: true, generated: true }\n      meta: { type: jsonb, required: false }\n`;
    writePackage(broken, forumYaml(entity).replace("maxLength: 200", "maxLength: 80") + mistake);
    const ids = scan();
    expect(ids[good], "the sound package has a change").toBeTruthy();
    expect(ids[broken], "the broken package has none").toBeFalsy();

    await page.setViewportSize({ width, height: 900 });
    await signIn(page, "viewer");
    await page.goto(`/changes?q=${good}`);
    const badge = page.locator(`tr[data-change="${ids[good]}"]`).getByTestId("broken-conflict");
    await expect(badge).toHaveText(`⚠ ${entity} vs ${broken} (has errors)`);
    await expect(badge).toHaveAttribute("title", new RegExp(`unknown field type "jsonb"`));
    await fitsTheWindow(page);

    await page.goto(`/changes/${ids[good]}`);
    const panel = page.getByTestId("broken-conflicts");
    await expect(panel.getByRole("heading", { name: /Conflicts with packages that have errors/ })).toBeVisible();
    await expect(panel.getByTestId("broken-conflict")).toContainText(`${entity} is also declared, differently, by ${broken}`);
    await expect(panel.getByTestId("broken-conflict")).toContainText('unknown field type "jsonb"');
    await expect(panel.getByRole("link", { name: broken })).toHaveAttribute("href", `/packages?q=${broken}#pkg-${broken}`);
    expect(await top(page, "[data-testid=broken-conflicts]")).toBeLessThan(await top(page, "#sql-h"));
    await fitsTheWindow(page);

    // An admin reads it before the decision's forms, with a link to the panel.
    await page.context().clearCookies();
    await signIn(page, "admin");
    await page.goto(`/changes/${ids[good]}`);
    const note = page.getByTestId("broken-conflict-note");
    await expect(note).toContainText(`a package with validation errors declares ${entity} (by ${broken}) differently`);
    expect(await top(page, "[data-testid=broken-conflict-note]")).toBeLessThan(await top(page, "#approve-note"));
    await note.getByRole("link", { name: "see the conflict" }).click();
    await expect(page.locator("#broken-conflict-h")).toBeInViewport();

    await page.goto("/changes/approve-all");
    const skipped = page.getByRole("region", { name: /Needing a decision of their own/ });
    const row = skipped.getByRole("row").filter({ has: page.getByRole("link", { name: good }) });
    await expect(row).toContainText(`conflict with a package that has errors: ${entity} is declared differently by ${broken}`);
    await fitsTheWindow(page);
    removePackage(good);
    removePackage(broken);
    scan();
  });

  test(`the change page leads with its summary, has a table of contents, deep links and SQL grouped by table at ${width} px`, async ({ page }) => {
    const tag = unique();
    const id = `toc_${tag}`;
    const [parent, child] = [`Shelf${tag}`, `Book${tag}`];
    // Two tables, one relating to the other, and access rules: policies and their helpers.
    const yaml = forumYamlWithAcl(parent, "user") + dependentYaml(child, parent).replace("entities:\n", "");
    writePackage(id, yaml);
    const change = scan()[id];
    expect(change, "the scan made a change").toBeTruthy();

    await page.setViewportSize({ width, height: 900 });
    await signIn(page, "viewer");
    await page.goto(`/changes/${change}`);
    // The summary (items) comes before the diff, and the diff before the SQL.
    const [items, diff, sql] = [await top(page, "#items-h"), await top(page, "#diff-h"), await top(page, "#sql-h")];
    expect(items).toBeLessThan(diff);
    expect(diff).toBeLessThan(sql);

    // The table of contents leads to each part.
    const toc = page.getByRole("navigation", { name: "On this page" });
    await toc.getByRole("link", { name: "SQL plan" }).click();
    await expect(page).toHaveURL(new RegExp(`/changes/${change}#sql-h$`));
    await expect(page.locator("#sql-h")).toBeInViewport();

    // One open group per table, the table's statements in it, numbered as in the plan.
    const groups = page.locator("details.sql-group");
    expect(await groups.count()).toBeGreaterThanOrEqual(2);
    for (const table of [parent, child]) {
      const group = page.locator(`details.sql-group[data-table="${table}"]`);
      await expect(group).toHaveAttribute("open", "");
      await expect(group.locator("summary")).toContainText(`Table ${table}`);
      expect(await group.locator("li.statement").count()).toBeGreaterThan(0);
    }
    // Folding a group hides its statements; unfolding shows them again.
    const first = groups.first();
    const statement = first.locator("li.statement").first();
    await first.locator("summary").click();
    await expect(statement).toBeHidden();
    await first.locator("summary").click();
    await expect(statement).toBeVisible();

    // An item links to the statements that implement it, each with its own anchor.
    await page.goto(`/changes/${change}`);
    const link = page.locator("li.item .item-statements a").first();
    const href = await link.getAttribute("href");
    expect(href).toMatch(/^#statement-\d+$/);
    await link.click();
    await expect(page.locator(href!)).toBeInViewport();
    // Followed into a group folded by hand, the link opens the group (the browser reveals it).
    const folded = page.locator(`details.sql-group:has(${href})`);
    await folded.locator("summary").click();
    await expect(page.locator(href!)).toBeHidden();
    await link.click();
    await expect(folded).toHaveAttribute("open", "");
    await expect(page.locator(href!)).toBeInViewport();
    // A deep link opened afresh lands on the statement too, and on an item.
    await page.goto(`/changes/${change}${href}`);
    await expect(page.locator(href!)).toBeInViewport();
    await page.goto(`/changes/${change}#item-2`);
    await expect(page.locator("#item-2")).toBeInViewport();
    await fitsTheWindow(page);
    removePackage(id);
    scan();
  });
}

for (const width of WIDTHS) {
  test(`requested changes carry over to the next revision, badged in the queue and on the change at ${width} px`, async ({ page }) => {
    const tag = unique();
    const id = `revised_${tag}`;
    const entity = `Revised${tag}`;
    writePackage(id, forumYaml(entity));
    const first = scan()[id];
    await page.setViewportSize({ width, height: 900 });
    await signIn(page, "reviewer");
    await page.goto(`/changes/${first}`);
    await page.getByLabel("Your review").fill(`title needs an index (${tag})`);
    await page.getByRole("button", { name: "Request changes" }).click();
    await expect(page.locator("section.reviews li[data-verdict=request_changes]")).toContainText("reviewer");

    // Partly fixed and scanned again: the new change keeps the request until it is settled.
    writePackage(id, forumYaml(entity).replace("maxLength: 200", "maxLength: 250"));
    const second = scan()[id];
    expect(second).not.toEqual(first);
    await page.goto(`/changes?q=${id}`);
    await expect(page.locator(`tr[data-change="${second}"]`).getByTestId("changes-requested")).toHaveText("changes requested");
    await page.goto(`/changes/${second}`);
    const carried = page.locator("section.reviews li[data-verdict=request_changes]");
    await expect(carried).toContainText(`title needs an index (${tag})`);
    await expect(carried.locator(".carried")).toContainText("given on the earlier change");
    await fitsTheWindow(page);
    removePackage(id);
    scan();
  });
}

test("the queue finds a change by a field name", async ({ page }) => {
  const tag = unique();
  const id = `fields_${tag}`;
  const field = `zebraStripes${tag}`;
  writePackage(id, forumYaml(`Striped${tag}`, `      ${field}: { type: int, required: false }\n`));
  const change = scan()[id];
  await signIn(page, "viewer");
  await page.goto("/changes");
  await page.getByLabel("Search").fill(field);
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByTestId("total")).toHaveText("1 change(s)");
  await expect(page.locator(`tr[data-change="${change}"]`)).toBeVisible();
  removePackage(id);
  scan();
});
