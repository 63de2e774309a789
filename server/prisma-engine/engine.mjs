// Schemagate's schema engine: Prisma's own migration engine (the WASM build of `schema-engine`)
// kept running behind a line-delimited JSON protocol on stdin/stdout. One engine, one database
// pool, requests handled one at a time in arrival order. Logs go to stderr; stdout carries only
// protocol lines. The protocol is documented in README.md next to this file.
//
// Usage: node engine.mjs [DATABASE_URL]   (default: $SCHEMAGATE_PLATFORM_DATABASE_URL, then
// $DATABASE_URL)

import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import readline from "node:readline";
import { randomUUID } from "node:crypto";

import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import * as engineGlue from "@prisma/schema-engine-wasm/schema_engine_bg";

// Nothing but protocol lines may reach stdout.
console.log = console.error;
console.info = console.error;

const debugEnabled = Boolean(process.env.SCHEMAGATE_ENGINE_DEBUG);

function log(message) {
  process.stderr.write(`prisma-engine: ${message}\n`);
}

/** A failure reported to the caller as `{"error": {"message", "kind", ...}}`. */
class RequestError extends Error {
  constructor(kind, message, extra = {}) {
    super(message);
    this.kind = kind;
    this.extra = extra;
  }
}

// ---------------------------------------------------------------------------------------------
// Connection settings

/**
 * Splits a `postgres://` URL into discrete pg pool fields (a connection string would override
 * the shadow database's name) and the PostgreSQL schema the platform lives in. A `host` query
 * parameter (a Unix socket directory, as libpq accepts it) wins over the URL's host.
 */
function parseDatabaseUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error("the database url is not a valid url");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new Error(`the database url has scheme "${url.protocol.replace(/:$/, "")}", expected postgres or postgresql`);
  }
  const params = url.searchParams;
  const config = {
    host: params.get("host") || decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, "$1") || "localhost",
    port: Number(params.get("port") || url.port || 5432),
    user: decodeURIComponent(url.username) || params.get("user") || undefined,
    password: url.password ? decodeURIComponent(url.password) : params.get("password") || undefined,
    database: decodeURIComponent(url.pathname.replace(/^\//, "")) || params.get("dbname") || "postgres",
    application_name: params.get("application_name") || "schemagate-prisma-engine",
  };
  const sslmode = params.get("sslmode");
  if (sslmode && sslmode !== "disable" && sslmode !== "prefer" && sslmode !== "allow") {
    config.ssl = { rejectUnauthorized: sslmode === "verify-full" || sslmode === "verify-ca" };
  }
  const connectTimeout = Number(params.get("connect_timeout"));
  if (connectTimeout > 0) config.connectionTimeoutMillis = connectTimeout * 1000;
  const schema = params.get("schema") || "public";
  // The engine describes `schema` but emits unqualified DDL: the search path must point at it,
  // and only at it (the default `"$user", public` would send DDL into a schema named after the
  // user, such as Schemagate's own registry schema).
  config.options = `-c search_path=${quoteIdent(schema)}`;
  return { config, schema };
}

function quoteIdent(name) {
  return `"${String(name).replaceAll('"', '""')}"`;
}

// ---------------------------------------------------------------------------------------------
// Workaround: pg_catalog's `"char"` columns (OID 18) are unknown to adapter-pg's column type
// mapping; their values already arrive as strings, so report them as text (OID 25).

function retypeCharColumns(result) {
  for (const one of Array.isArray(result) ? result : [result]) {
    for (const field of one?.fields ?? []) {
      if (field.dataTypeID === 18) field.dataTypeID = 25;
    }
  }
  return result;
}

function patchCharColumns() {
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, values, callback) {
    if (typeof values === "function") {
      const done = values;
      return query.call(this, config, (error, result) => done(error, result && retypeCharColumns(result)));
    }
    if (typeof callback === "function") {
      return query.call(this, config, values, (error, result) => callback(error, result && retypeCharColumns(result)));
    }
    const returned = query.call(this, config, values);
    return typeof returned?.then === "function" && typeof config?.submit !== "function"
      ? returned.then(retypeCharColumns)
      : returned;
  };
}

// ---------------------------------------------------------------------------------------------
// The adapter factory handed to the engine

/**
 * Runs a whole script as one simple-protocol query: PostgreSQL executes it as one implicit
 * transaction, and statements are never split at semicolons inside literals or function
 * bodies (adapter-pg 7.10.1 splits at every `;`).
 */
function runScriptsWhole(adapter) {
  adapter.executeScript = async (script) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      // The engine reports adapter errors in its own words ("No such table: Nope"); keep
      // PostgreSQL's for the caller.
      lastScriptError = {
        code: error.code,
        message: error.message,
        ...(error.detail ? { detail: error.detail } : {}),
        ...(error.position ? { position: Number(error.position) } : {}),
      };
      adapter.onError(error);
    }
  };
  return adapter;
}

/**
 * The platform database for the engine, plus a shadow database factory that works: it creates
 * a temporary database, and on dispose ends that database's pool before dropping it with
 * `WITH (FORCE)` (adapter-pg 7.10.1 reuses the main database when built from a connection
 * string, and drops the shadow database while its pool is still connected).
 */
class PlatformAdapterFactory {
  constructor(config, schema) {
    this.config = config;
    this.schema = schema;
    this.main = new PrismaPg({ ...config, max: 4 }, { schema });
    this.provider = this.main.provider;
    this.adapterName = this.main.adapterName;
  }

  async connect() {
    return runScriptsWhole(await this.main.connect());
  }

  async connectToShadowDb() {
    const name = `prisma_migrate_shadow_db_${randomUUID().replaceAll("-", "")}`;
    await maintenanceQuery(this.config, `CREATE DATABASE ${quoteIdent(name)}`);
    log(`created shadow database ${name}`);
    const shadow = new PrismaPg({ ...this.config, database: name, max: 2 }, { schema: this.schema });
    let adapter;
    try {
      adapter = runScriptsWhole(await shadow.connect());
      if (this.schema !== "public") {
        await adapter.underlyingDriver().query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
      }
    } catch (error) {
      await dropDatabase(this.config, name);
      throw error;
    }
    const endPool = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      try {
        await endPool();
      } finally {
        await dropDatabase(this.config, name);
      }
    };
    return adapter;
  }
}

async function maintenanceQuery(config, sql, values) {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

async function dropDatabase(config, name) {
  try {
    await maintenanceQuery(config, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    log(`dropped shadow database ${name}`);
  } catch (error) {
    log(`could not drop shadow database ${name}: ${error.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The engine

/** Workaround: instantiate the WASM by hand (the package entry needs --experimental-wasm-modules). */
async function loadWasm() {
  const glue = new URL(import.meta.resolve("@prisma/schema-engine-wasm/schema_engine_bg"));
  const bytes = await readFile(new URL("./schema_engine_bg.wasm", glue));
  const { instance } = await WebAssembly.instantiate(bytes, { "./schema_engine_bg.js": engineGlue });
  engineGlue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
}

let settings;
let enginePromise = null;
/** PostgreSQL's own error for the last failed script of the current request, if any. */
let lastScriptError = null;

function engine() {
  if (!enginePromise) {
    enginePromise = (async () => {
      const factory = new PlatformAdapterFactory(settings.config, settings.schema);
      const adapter = bindMigrationAwareSqlAdapterFactory(factory);
      const onLog = debugEnabled ? (line) => log(`engine: ${line}`) : () => {};
      const started = Date.now();
      const instance = await engineGlue.SchemaEngine.new({ datamodels: undefined }, onLog, adapter);
      log(`engine connected to database "${settings.config.database}", schema "${settings.schema}" in ${Date.now() - started} ms`);
      return instance;
    })().catch((error) => {
      enginePromise = null;
      if (error instanceof RequestError || isPanic(error)) throw error;
      const extra = typeof error?.code === "string" ? { code: error.code } : {};
      throw new RequestError("connection", String(error?.message ?? error).trim(), extra);
    });
  }
  return enginePromise;
}

// ---------------------------------------------------------------------------------------------
// Inputs

const DATASOURCE_URL_KEYS = /^\s*(url|directUrl|shadowDatabaseUrl)\s*=/;

/**
 * Prisma 6 schemas name their connection in the datasource (`url = env("DATABASE_URL")`,
 * `directUrl`, `shadowDatabaseUrl`); the Prisma 7 engine rejects those keys. They are blanked
 * (not removed, so the engine's line numbers still match the caller's text).
 */
function withoutDatasourceUrls(text) {
  let inDatasource = false;
  return text
    .split("\n")
    .map((line) => {
      if (/^\s*datasource\s+\w+\s*\{/.test(line)) inDatasource = true;
      else if (inDatasource && /^\s*\}/.test(line)) inDatasource = false;
      else if (inDatasource && DATASOURCE_URL_KEYS.test(line)) return "";
      return line;
    })
    .join("\n");
}

function schemaFiles(text, name) {
  return { files: [{ path: name, content: withoutDatasourceUrls(text) }] };
}

function requireString(params, key) {
  const value = params?.[key];
  if (typeof value !== "string") throw new RequestError("invalid_params", `params.${key} must be a string`);
  return value;
}

function optionalSchema(params, key) {
  const value = params?.[key];
  if (value === undefined || value === null || value === "") return { tag: "empty" };
  if (typeof value !== "string") throw new RequestError("invalid_params", `params.${key} must be a string or null`);
  return { tag: "schemaDatamodel", ...schemaFiles(value, `${key}.prisma`) };
}

const NO_FILTERS = { externalTables: [], externalEnums: [] };

/** Reads a Prisma migrations directory the way the Prisma CLI hands it to the engine. */
async function migrationsList(dir) {
  if (!path.isAbsolute(dir)) throw new RequestError("invalid_params", `params.migrationsDir must be an absolute path, got "${dir}"`);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new RequestError("invalid_params", `cannot read the migrations directory ${dir}: ${error.message}`);
  }
  const lockPath = path.join(dir, "migration_lock.toml");
  const lockContent = await readFile(lockPath, "utf8").catch(() => null);
  const migrationDirectories = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const file = path.join(dir, entry.name, "migration.sql");
    const content = await readFile(file, "utf8").then(
      (value) => ({ tag: "ok", value }),
      (error) => ({ tag: "error", value: error.message }),
    );
    migrationDirectories.push({ path: entry.name, migrationFile: { path: "migration.sql", content } });
  }
  return {
    baseDir: dir,
    lockfile: { path: "migration_lock.toml", content: lockContent },
    shadowDbInitScript: "",
    migrationDirectories,
  };
}

/** `model Name { … @@map("table") }` blocks of an introspected schema → model and table names. */
function tablesOf(schema) {
  const tables = [];
  const blocks = schema.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm);
  for (const [, model, body] of blocks) {
    const mapped = body.match(/^\s*@@map\(\s*(?:name:\s*)?"([^"]*)"/m);
    const ignored = /^\s*@@ignore\b/m.test(body);
    tables.push({ model, table: mapped ? mapped[1] : model, ignored });
  }
  return tables;
}

// ---------------------------------------------------------------------------------------------
// Methods

const methods = {
  async version() {
    const instance = await engine();
    return { engine: engineGlue.version(), database: await instance.version(undefined) };
  },

  async plan(params) {
    if (params?.to === undefined) throw new RequestError("invalid_params", "params.to must be a string or null");
    const instance = await engine();
    const from = optionalSchema(params, "from");
    const to = optionalSchema(params, "to");
    const result = await instance.diff({ from, to, script: true, exitCode: true, filters: NO_FILTERS });
    return { sql: result.stdout ?? "", empty: result.exitCode === 0 };
  },

  async planFromMigrations(params) {
    const list = await migrationsList(requireString(params, "migrationsDir"));
    const to = optionalSchema(params, "to");
    const instance = await engine();
    const from = list.migrationDirectories.length === 0 ? { tag: "empty" } : { tag: "migrations", ...list };
    const result = await instance.diff({ from, to, script: true, exitCode: true, filters: NO_FILTERS });
    return { sql: result.stdout ?? "", empty: result.exitCode === 0 };
  },

  async diffLive(params) {
    const schema = requireString(params, "schema");
    const instance = await engine();
    const live = { tag: "schemaDatasource", ...schemaFiles(schema, "schema.prisma"), configDir: process.cwd() };
    const expected = { tag: "schemaDatamodel", ...schemaFiles(schema, "schema.prisma") };
    const script = await instance.diff({ from: live, to: expected, script: true, exitCode: true, filters: NO_FILTERS });
    const empty = script.exitCode === 0;
    let summary = "";
    if (!empty) {
      const described = await instance.diff({ from: expected, to: live, script: false, exitCode: false, filters: NO_FILTERS });
      summary = described.stdout ?? "";
    }
    return { sql: empty ? "" : script.stdout ?? "", empty, summary };
  },

  async applyMigrations(params) {
    const list = await migrationsList(requireString(params, "migrationsDir"));
    const instance = await engine();
    const result = await instance.applyMigrations({ migrationsList: list, filters: NO_FILTERS });
    return { applied: result.appliedMigrationNames };
  },

  // `prisma migrate resolve --applied`: failed rows of the migration are marked rolled back
  // and a finished row is recorded, so that the next deploy goes on.
  async markMigrationApplied(params) {
    const migrationName = requireString(params, "migrationName");
    const list = await migrationsList(requireString(params, "migrationsDir"));
    const instance = await engine();
    await instance.markMigrationApplied({ migrationName, migrationsList: list });
    return { marked: migrationName };
  },

  async introspect() {
    const instance = await engine();
    const base = 'datasource db {\n  provider = "postgresql"\n}\n';
    let result;
    try {
      result = await instance.introspect({
        schema: schemaFiles(base, "schema.prisma"),
        baseDirectoryPath: process.cwd(),
        force: true,
        compositeTypeDepth: -1,
        namespaces: null,
      });
    } catch (error) {
      // P4001: the introspected database was empty.
      if (error?.code === "P4001") return { schema: "", tables: [], views: [], warnings: "" };
      throw error;
    }
    const schema = result.schema.files.map((file) => file.content).join("\n");
    return {
      schema,
      tables: tablesOf(schema),
      views: (result.views ?? []).map(({ name, schema: namespace }) => ({ name, schema: namespace })),
      warnings: result.warnings ?? "",
    };
  },

  async migrationStatus(params) {
    const instance = await engine();
    const records = await migrationRecords();
    if (params?.migrationsDir === undefined || params?.migrationsDir === null) return { records };
    const list = await migrationsList(requireString(params, "migrationsDir"));
    const diagnosis = await instance.diagnoseMigrationHistory({
      migrationsList: list,
      optInToShadowDatabase: false,
      filters: NO_FILTERS,
    });
    return { records, ...diagnosis };
  },
};

/** The rows of `_prisma_migrations` in the platform schema, oldest first (none: no table). */
async function migrationRecords() {
  const table = `${quoteIdent(settings.schema)}."_prisma_migrations"`;
  const { rows } = await maintenanceQuery(
    settings.config,
    `SELECT to_regclass($1) IS NOT NULL AS present`,
    [table],
  );
  if (!rows[0].present) return [];
  const result = await maintenanceQuery(
    settings.config,
    `SELECT migration_name, checksum, started_at, finished_at, rolled_back_at, applied_steps_count, logs
       FROM ${table} ORDER BY started_at, migration_name`,
  );
  return result.rows.map((row) => ({
    name: row.migration_name,
    checksum: row.checksum,
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    rolledBackAt: row.rolled_back_at?.toISOString() ?? null,
    appliedStepsCount: row.applied_steps_count,
    logs: row.logs,
  }));
}

// ---------------------------------------------------------------------------------------------
// Errors

function isPanic(error) {
  return error instanceof WebAssembly.RuntimeError || error?.name === "RuntimeError";
}

function describeError(error) {
  if (error instanceof RequestError) return { kind: error.kind, message: error.message, ...error.extra };
  if (isPanic(error)) return { kind: "panic", message: `the schema engine panicked: ${error.message}` };
  const message = String(error?.message ?? error).trim();
  if (error && typeof error === "object" && "code" in error && typeof error.code === "string") {
    const known = /^P\d{4}$/.test(error.code);
    return { kind: known ? "engine" : "database", message, code: error.code };
  }
  if (error?.name === "DriverAdapterError") return { kind: "database", message, cause: error.cause };
  return { kind: "engine", message };
}

// ---------------------------------------------------------------------------------------------
// The protocol loop

function reply(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

let queue = Promise.resolve();

async function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    reply({ id: null, error: { kind: "invalid_request", message: "the request is not valid JSON" } });
    return;
  }
  const id = request?.id ?? null;
  const method = request?.method;
  if (typeof method !== "string" || !Object.hasOwn(methods, method)) {
    reply({ id, error: { kind: "unknown_method", message: `unknown method ${JSON.stringify(method)}` } });
    return;
  }
  const started = Date.now();
  lastScriptError = null;
  try {
    const result = await methods[method](request.params ?? {});
    reply({ id, result });
    log(`${method} (id ${id}) answered in ${Date.now() - started} ms`);
  } catch (error) {
    const described = describeError(error);
    if (lastScriptError) described.database = lastScriptError;
    reply({ id, error: described });
    log(`${method} (id ${id}) failed in ${Date.now() - started} ms: ${described.message.split("\n")[0]}`);
    if (described.kind === "panic") {
      log("exiting after an engine panic");
      process.exit(70);
    }
  }
}

async function main() {
  const url = process.argv[2] || process.env.SCHEMAGATE_PLATFORM_DATABASE_URL || process.env.DATABASE_URL;
  if (!url) {
    log("no database url: pass it as the first argument or set SCHEMAGATE_PLATFORM_DATABASE_URL or DATABASE_URL");
    process.exit(2);
  }
  try {
    settings = parseDatabaseUrl(url);
  } catch (error) {
    log(error.message);
    process.exit(2);
  }
  patchCharColumns();
  await loadWasm();
  log(`ready (schema engine ${engineGlue.version()})`);

  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (line.trim() === "") return;
    queue = queue.then(() => handle(line));
  });
  lines.on("close", () => {
    queue.then(() => process.exit(0));
  });
}

main().catch((error) => {
  log(`failed to start: ${error?.stack ?? error}`);
  process.exit(1);
});
