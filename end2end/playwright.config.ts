import { defineConfig } from "@playwright/test";

// The server under test: the real binary against the PostgreSQL server named by DATABASE_URL
// (`make test` runs a private cluster and sets it). Chromium is Debian's: Playwright cannot
// download browsers here.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "./tests",
  globalSetup: "./global-setup.ts",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  // Started from the repository root with no LEPTOS_* variables, exactly as `cargo run -p server`
  // or `target/debug/schemagate` would be: the binary that `make` builds with a plain
  // `cargo build -p server`, serving the site `make site` built under target/site.
  webServer: {
    command: `target/debug/schemagate --packages target/e2e-packages serve --addr 127.0.0.1:${port}`,
    cwd: "..",
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      RUST_LOG: "info",
      // Every test signs in from 127.0.0.1; the per-address limit has its own tests in Rust.
      SCHEMAGATE_LOGIN_MAX_CLIENT_ATTEMPTS: "10000",
    },
  },
});
