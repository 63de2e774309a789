import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, Page } from "@playwright/test";

export const BIN = path.resolve(__dirname, "../../target/debug/schemagate");
export const PACKAGES = path.resolve(__dirname, "../../target/e2e-packages");
const ROOT = path.resolve(__dirname, "../..");

/** A database of its own on the test server (`make test`'s DATABASE_URL), by URL. */
export function freshDatabase(prefix: string): string {
  const name = `${prefix}_${unique()}`;
  execFileSync("psql", [process.env.DATABASE_URL ?? "", "-qc", `create database ${name}`]);
  const url = new URL(process.env.DATABASE_URL ?? "");
  url.pathname = `/${name}`;
  return url.toString();
}

/** A server of its own on `port` over the registry `url`, with `args` before `serve` and `env`
 *  added to its environment; resolves once it answers /healthz. */
export async function startServer(
  url: string,
  args: string[],
  port: number,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const server = spawn(BIN, ["--database-url", url, ...args, "serve", "--addr", `127.0.0.1:${port}`], {
    env: {
      ...process.env,
      ...env,
      LEPTOS_SITE_ROOT: path.join(ROOT, "target/site"),
      LEPTOS_SITE_PKG_DIR: "pkg",
      RUST_LOG: "warn",
    },
    stdio: "ignore",
  });
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return server;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  server.kill();
  throw new Error(`the server on port ${port} did not start`);
}

/** Runs the CLI against the test database (DATABASE_URL comes from `make test`). */
export function cli(args: string[], input = ""): string {
  return execFileSync(BIN, args, { input, encoding: "utf8", env: { ...process.env, RUST_LOG: "warn" } });
}

/** Creates an account, or (when it exists, e.g. the `admin` a first start creates) sets its
 *  role and password to the given ones. */
export function addUser(name: string, role: string, password: string) {
  try {
    cli(["user", "add", name, "--role", role], password + "\n");
  } catch (error) {
    if (!String((error as { stderr?: string }).stderr ?? error).includes("already exists")) throw error;
    cli(["user", "passwd", name], password + "\n");
    cli(["user", "role", name, role]);
  }
}

/** A unique suffix so that each test's packages and entities are its own. */
export function unique(): string {
  return Math.random().toString(36).slice(2, 8);
}

/** Writes a package into the shared packages directory. */
export function writePackage(id: string, yaml: string) {
  const dir = path.join(PACKAGES, id, "seed", "schema");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "entities.yaml"), yaml);
}

/** Removes a package from the shared packages directory. */
export function removePackage(id: string) {
  fs.rmSync(path.join(PACKAGES, id), { recursive: true, force: true });
}

/** Scans the packages directory into the registry; returns the ids of created changes by package. */
export function scan(): Record<string, string> {
  let out = "";
  try {
    out = cli(["--packages", PACKAGES, "scan", "--json"]);
  } catch (error) {
    // Exit 1 when some package has errors; the report is still on stdout.
    out = String((error as { stdout?: string }).stdout ?? "");
  }
  const report = JSON.parse(out);
  const created: Record<string, string> = {};
  for (const entry of [...report.created, ...report.drops]) created[entry.package] = entry.change;
  return created;
}

/** A small entity in the map dialect, without an ACL: a routine change. */
export function forumYaml(entity: string, extra = ""): string {
  return `entities:
  - name: ${entity}
    fields:
      id: { type: cuid, primary: true, generated: true }
      tenantId: { type: string, required: true }
      title: { type: string, required: true, maxLength: 200 }
${extra}    relations:
      - { name: tenant, type: belongsTo, entity: Tenant, field: tenantId }
`;
}

/** `forumYaml` with an ACL that grants reads to `read`: its row-level security statements make
 *  the change a security change. */
export function forumYamlWithAcl(entity: string, read: string, extra = ""): string {
  return `${forumYaml(entity, extra)}    acl:\n      read: [${read}]\n`;
}

/** Signs in through the form and waits for the dashboard. */
export async function signIn(page: Page, user: string) {
  await page.goto("/login");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(`${user}-password`);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("signed-in")).toContainText(user);
}

/** Collects console errors of a page. */
export function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}

/** Fails when the page scrolls sideways, naming the outermost elements that reach past the
 *  window's right edge (content inside a scrolling box or a closed <details> does not count). */
export async function fitsTheWindow(page: Page) {
  const [scrollWidth, innerWidth, culprits] = await page.evaluate(() => {
    // The outermost elements reaching past the window's right edge, for the message.
    const wide = [...document.querySelectorAll("body *")].filter(
      (el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 && !el.parentElement?.closest(".scroll, details:not([open])"),
    );
    const outermost = wide.filter((el) => !wide.some((other) => other !== el && other.contains(el) && other.tagName !== "MAIN" && other.tagName !== "BODY"));
    return [
      document.documentElement.scrollWidth,
      window.innerWidth,
      outermost.slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className} "${(el.textContent ?? "").trim().slice(0, 30)}"`).join(", "),
    ] as const;
  });
  expect(scrollWidth, `${page.url()} scrolls sideways (${culprits})`).toBeLessThanOrEqual(innerWidth);
}
