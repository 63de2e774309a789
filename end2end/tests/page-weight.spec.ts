import { CDPSession, expect, Page, test } from "@playwright/test";
import { consoleErrors, forumYaml, removePackage, scan, signIn, unique, writePackage } from "./support";

// What a first visit may cost: the page, its script, wasm, stylesheet and icon as they travel.
const COLD_LOAD_LIMIT = 250_000;

type Transfer = { url: string; type: string; headers: Record<string, string>; fromCache: boolean; bytes: number };

/** Everything the browser receives from here on, as DevTools sees it (bytes as transferred). */
function recordTransfers(client: CDPSession): Transfer[] {
  const transfers: Transfer[] = [];
  const byId = new Map<string, Transfer>();
  const cached = new Set<string>();
  client.on("Network.requestServedFromCache", (event) => {
    cached.add(event.requestId);
    const transfer = byId.get(event.requestId);
    if (transfer) transfer.fromCache = true;
  });
  client.on("Network.responseReceived", (event) => {
    const headers = Object.fromEntries(Object.entries(event.response.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const transfer = {
      url: event.response.url,
      type: event.type,
      headers,
      fromCache: cached.has(event.requestId) || !!(event.response.fromDiskCache || event.response.fromPrefetchCache),
      bytes: 0,
    };
    byId.set(event.requestId, transfer);
    transfers.push(transfer);
  });
  client.on("Network.loadingFinished", (event) => {
    const transfer = byId.get(event.requestId);
    if (transfer) transfer.bytes = event.encodedDataLength;
  });
  return transfers;
}

/** Waits until the diff layout switches in place, which only the hydrated island does (before
 *  that the tabs are plain links, and following one loads a new page). */
async function switchesLayoutInPlace(page: Page, transfers: Transfer[]) {
  await expect(async () => {
    await page.getByRole("link", { name: "Unified" }).click();
    await expect(page.locator("table.diff.unified")).toBeVisible({ timeout: 1_000 });
    const documents = transfers.filter((t) => t.type === "Document").length;
    await page.getByRole("link", { name: "Side by side" }).click();
    await expect(page.locator("table.diff.split")).toBeVisible({ timeout: 1_000 });
    await expect(page).toHaveURL(/\?view=split$/);
    expect(transfers.filter((t) => t.type === "Document")).toHaveLength(documents);
  }).toPass({ timeout: 20_000 });
}

test("a cold load of the change page is small, compressed, cached for good and hydrates", async ({ browser }) => {
  const id = `weight_${unique()}`;
  writePackage(id, forumYaml(`Weighed${unique()}`));
  const change = scan()[id];

  // Sign in elsewhere, so that the measured visit starts with an empty cache.
  const signInContext = await browser.newContext();
  await signIn(await signInContext.newPage(), "admin");
  const storageState = await signInContext.storageState();
  await signInContext.close();

  const context = await browser.newContext({ storageState });
  const page = await context.newPage();
  const errors = consoleErrors(page);
  const client = await context.newCDPSession(page);
  await client.send("Network.enable");
  await client.send("Network.clearBrowserCache");
  const transfers = recordTransfers(client);

  await page.goto(`/changes/${change}`);
  await expect(page.getByRole("heading", { name: id })).toBeVisible();
  await page.waitForLoadState("networkidle");

  const cold = transfers.filter((t) => !t.fromCache);
  const bytes = cold.reduce((sum, t) => sum + t.bytes, 0);
  console.log(`cold load of the change page: ${bytes} bytes in ${cold.length} responses`);
  expect(bytes).toBeLessThanOrEqual(COLD_LOAD_LIMIT);

  const html = cold.find((t) => t.type === "Document")!;
  expect(html.headers["cache-control"]).toBe("no-cache");
  expect(["br", "gzip"]).toContain(html.headers["content-encoding"]);
  const assets = cold.filter((t) => new URL(t.url).pathname.startsWith("/pkg/"));
  const kinds = assets.map((t) => new URL(t.url).pathname.split(".").pop()).sort();
  expect(kinds).toEqual(["css", "js", "svg", "wasm"]);
  for (const asset of assets) {
    expect(new URL(asset.url).pathname, "a content-hashed name").toMatch(/^\/pkg\/[a-z]+\.[0-9a-f]{16}\.[a-z]+$/);
    expect(asset.headers["cache-control"], asset.url).toBe("public, max-age=31536000, immutable");
    expect(asset.headers["content-encoding"], asset.url).toBe("br");
  }
  await switchesLayoutInPlace(page, transfers);

  // A later visit (same version) fetches the page and nothing else, and hydrates again.
  const before = transfers.length;
  await page.goto(`/changes/${change}`);
  await page.waitForLoadState("networkidle");
  const warm = transfers.slice(before).filter((t) => !t.fromCache);
  expect(warm.map((t) => t.type)).toEqual(["Document"]);
  await switchesLayoutInPlace(page, transfers);
  expect(errors).toEqual([]);
  await context.close();
  removePackage(id);
});
