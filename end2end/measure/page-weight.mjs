// Page weight and time to interactive, as a visitor on a slow link and a slow machine sees them.
//
//   node end2end/measure/page-weight.mjs [PATH...]
//
// Against a running server (BASE_URL, default http://127.0.0.1:3000) with an account
// (SCHEMAGATE_USER / SCHEMAGATE_PASSWORD, default admin / admin-password). Each page (default:
// the dashboard, the queue and the first change in it) is loaded twice in a fresh browser
// profile under Chrome DevTools throttling (CPU 4x slower, 9 Mbit/s down, 40 ms round trip):
// cold (empty cache), then warm (same version, cached). It prints the bytes transferred
// (headers and bodies, as they travel: compressed) and the time from navigation start to the
// page being interactive: the wasm is instantiated and the hydration that follows at once (the
// whole page, or its islands) has run, i.e. the first task after instantiation.
import { chromium } from "@playwright/test";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const USER = process.env.SCHEMAGATE_USER ?? "admin";
const PASSWORD = process.env.SCHEMAGATE_PASSWORD ?? "admin-password";
const CPU_SLOWDOWN = 4;
const MBIT = 9;
const LATENCY_MS = 40;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

// Sign in once, without throttling; each measured page gets a new context with that session.
const login = await browser.newContext({ baseURL: BASE_URL });
const loginPage = await login.newPage();
await loginPage.goto("/login");
await loginPage.getByLabel("Username").fill(USER);
await loginPage.getByLabel("Password").fill(PASSWORD);
await loginPage.getByRole("button", { name: "Sign in" }).click();
await loginPage.getByTestId("signed-in").waitFor();
let paths = process.argv.slice(2);
if (paths.length === 0) {
  await loginPage.goto("/changes");
  const first = await loginPage.locator("a.change-link").first().getAttribute("href");
  paths = ["/", "/changes", ...(first ? [first] : [])];
}
const session = await login.storageState();
await login.close();

function kb(bytes) {
  return `${(bytes / 1000).toFixed(1)} KB`;
}

async function load(page, client, path) {
  const responses = new Map();
  const cached = new Set();
  const onCached = (event) => cached.add(event.requestId);
  const onResponse = (event) => responses.set(event.requestId, {
    url: event.response.url,
    encoding: event.response.headers["content-encoding"] ?? event.response.headers["Content-Encoding"] ?? "",
    fromCache: cached.has(event.requestId) || event.response.fromDiskCache,
    bytes: 0,
  });
  const onFinished = (event) => {
    const entry = responses.get(event.requestId);
    if (entry) entry.bytes = event.encodedDataLength;
  };
  client.on("Network.requestServedFromCache", onCached);
  client.on("Network.responseReceived", onResponse);
  client.on("Network.loadingFinished", onFinished);
  await page.goto(path, { waitUntil: "load" });
  const interactive = await page
    .waitForFunction(() => window.__hydratedAt, null, { timeout: 60_000, polling: 50 })
    .then((handle) => handle.jsonValue());
  await page.waitForLoadState("networkidle");
  client.off("Network.requestServedFromCache", onCached);
  client.off("Network.responseReceived", onResponse);
  client.off("Network.loadingFinished", onFinished);
  const transferred = [...responses.values()].filter((r) => !r.fromCache && r.bytes > 0);
  return {
    interactive,
    bytes: transferred.reduce((sum, r) => sum + r.bytes, 0),
    requests: transferred,
  };
}

for (const path of paths) {
  const context = await browser.newContext({ baseURL: BASE_URL, storageState: session });
  // Navigation start to the first task after the wasm is instantiated: leptos hydrates in the
  // promise callbacks that follow instantiation, before any later task runs.
  await context.addInitScript(() => {
    for (const name of ["instantiateStreaming", "instantiate"]) {
      const original = WebAssembly[name];
      WebAssembly[name] = (...args) => {
        const instantiated = original.apply(WebAssembly, args);
        instantiated.then(() => setTimeout(() => { window.__hydratedAt ??= performance.now(); }, 0));
        return instantiated;
      };
    }
  });
  const page = await context.newPage();
  const client = await context.newCDPSession(page);
  await client.send("Network.enable");
  await client.send("Network.clearBrowserCache");
  await client.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: LATENCY_MS,
    downloadThroughput: (MBIT * 1_000_000) / 8,
    uploadThroughput: (MBIT * 1_000_000) / 8,
  });
  await client.send("Emulation.setCPUThrottlingRate", { rate: CPU_SLOWDOWN });

  const cold = await load(page, client, path);
  const warm = await load(page, client, path);
  console.log(`${path}`);
  console.log(`  cold: ${kb(cold.bytes)} in ${cold.requests.length} responses, interactive after ${Math.round(cold.interactive)} ms`);
  for (const r of cold.requests) {
    console.log(`    ${kb(r.bytes).padStart(9)}  ${(r.encoding || "identity").padEnd(8)}  ${r.url.replace(BASE_URL, "")}`);
  }
  console.log(`  warm: ${kb(warm.bytes)} in ${warm.requests.length} responses, interactive after ${Math.round(warm.interactive)} ms`);
  for (const r of warm.requests) {
    console.log(`    ${kb(r.bytes).padStart(9)}  ${(r.encoding || "identity").padEnd(8)}  ${r.url.replace(BASE_URL, "")}`);
  }
  await context.close();
}
await browser.close();
console.log(`(CPU ${CPU_SLOWDOWN}x slower, ${MBIT} Mbit/s, ${LATENCY_MS} ms latency)`);
