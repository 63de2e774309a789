-- Every change carries the SQL that Prisma's schema engine plans for it (from the schema the
-- restart job would leave before it to the schema after it), or the engine's error when it
-- cannot be planned. Approvals are pinned to plan_sha256; the restart job applies exactly
-- plan_sql, and only while re-planning against the live database gives the same SQL.
alter table schema_change
    add column plan_sql    text,
    add column plan_error  text,
    add column plan_sha256 text,
    add column planned_at  timestamptz,
    add column approved_plan_sha256 text;
