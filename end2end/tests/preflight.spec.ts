import { ChildProcess, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Browser, expect, Page, test } from "@playwright/test";
import { BIN, freshDatabase, startServer, unique } from "./support";

// What the live data says, on the change page: a platform whose table holds rows, a change that
// makes a column required over null rows and drops a column that still holds values. The page
// shows the preflight's numbers beside the statements, refuses the approval before any typing,
// and suggests the rename the drop and add look like.

const ROOT = path.resolve(__dirname, "../..");
const PORT = Number(process.env.E2E_PREFLIGHT_PORT ?? 3110);
const BASE = `http://127.0.0.1:${PORT}`;

function ticketYaml(v2: boolean): string {
  const fields = v2
    ? "      subject: { type: string, required: true }\n      reference: { type: string, required: false }\n"
    : "      subject: { type: string, required: false }\n      code: { type: string, required: false }\n";
  return `entities:\n  - name: Ticket\n    fields:\n      id: { type: string, primary: true }\n${fields}`;
}

test.describe("preflight on the change page", () => {
  let server: ChildProcess | undefined;
  let url = "";
  let change = "";
  const pkg = `desk_${unique()}`;

  function run(args: string[], input = ""): string {
    return execFileSync(BIN, ["--database-url", url, ...args], {
      input,
      encoding: "utf8",
      env: { ...process.env, SCHEMAGATE_PLATFORM_DATABASE_URL: url, RUST_LOG: "warn" },
    });
  }

  test.beforeAll(async () => {
    test.setTimeout(120_000);
    url = freshDatabase("preflight");
    const work = path.join(ROOT, "target/e2e-preflight", path.basename(new URL(url).pathname));
    const packages = path.join(work, "packages");
    const schema = path.join(packages, pkg, "seed/schema");
    fs.mkdirSync(schema, { recursive: true });
    run(["user", "add", "admin", "--role", "admin"], "admin-password\n");

    fs.writeFileSync(path.join(schema, "entities.yaml"), ticketYaml(false));
    const created = (report: string) =>
      JSON.parse(report).created.find((c: { package: string }) => c.package === pkg).change;
    run(["approve", created(run(["--packages", packages, "scan", "--json"])), "--as", "admin"]);
    run(["apply", "--schema-out", path.join(work, "schema.prisma")]);
    execFileSync("psql", [
      url,
      "-qc",
      `insert into "Ticket" (id, subject, code) values ('t1', 'kept', 'c1'), ('t2', null, 'c2'), ('t3', null, null)`,
    ]);
    fs.writeFileSync(path.join(schema, "entities.yaml"), ticketYaml(true));
    change = created(run(["--packages", packages, "scan", "--json"]));

    server = await startServer(url, ["--packages", packages], PORT, { SCHEMAGATE_PLATFORM_DATABASE_URL: url });
  });

  test.afterAll(() => {
    server?.kill();
  });

  async function signedIn(browser: Browser): Promise<Page> {
    const page = await (await browser.newContext({ baseURL: BASE })).newPage();
    await page.goto("/login");
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill("admin-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("signed-in")).toContainText("admin");
    return page;
  }

  test("the numbers sit beside their statements, block the approval, and a drop suggests the rename", async ({ browser }) => {
    const page = await signedIn(browser);
    await page.goto(`/changes/${change}`);

    const facts = page.getByTestId("preflight-fact");
    await expect(facts.filter({ hasText: "required" })).toContainText(
      'makes "Ticket"."subject" required: 2 of 3 rows would make it fail (for example t2; t3)',
    );
    await expect(facts.filter({ hasText: "drops" })).toContainText('drops 2 non-null values of "Ticket"."code" (3 rows)');
    // Each fact is shown with the statement it checks.
    const notNull = page.locator("[id^=statement-]").filter({ hasText: "SET NOT NULL" });
    await expect(notNull.getByTestId("preflight-fact").filter({ hasText: "required" })).toContainText(
      "2 of 3 rows would make it fail",
    );

    await expect(page.getByTestId("suggestion")).toContainText(
      "looks like a rename: add `renamedFrom: code` to reference (renames in place and keeps the data)",
    );

    // Refused before any typing: the button is disabled and says why, with the way forward.
    await expect(page.getByRole("button", { name: /^Approve/ })).toBeDisabled();
    await expect(page.getByText(/2 of 3 rows would make it fail/).first()).toBeVisible();
  });
});
