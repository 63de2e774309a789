-- Preflight: what a change's statements would meet in the live platform database (rows in each
-- table, rows that would make a statement fail with example keys, values a drop would lose),
-- kept with the change for the plan it was checked against. Checked again when older than the
-- configured age (change page, `show`), before every approval and before the restart job
-- applies the change.
create table schemagate.change_preflight (
    change_id   uuid primary key references schemagate.schema_change (id) on delete cascade,
    plan_sha256 text not null,
    checked_at  timestamptz not null default now(),
    report      jsonb not null
);

select schemagate.announce_every_table();
