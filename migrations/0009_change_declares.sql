-- The entity names each change's snapshot declares, so finding which packages declare an
-- entity is an index lookup instead of parsing every snapshot that mentions its name. Scans fill
-- it; the server fills rows written before this migration in the background when it starts
-- (`db::fill_declares`), and readers treat a null as "not known yet".
alter table schema_change add column declares text[];
create index schema_change_declares_idx on schema_change using gin (declares);

-- Lists and counts read a few short columns of many changes; snapshots, fragments and plans are
-- read one change at a time. Long texts kept out of line keep the rows those lists read small,
-- and a stored, lower-cased search text kept in line spares converting every change's items to
-- text (and case-folding it) on each search.
alter table schema_change set (toast_tuple_target = 256);
alter table schema_change add column search_text text
    generated always as (lower(package || E'\n' || items::text)) stored;
alter table schema_change alter column search_text set storage main;

-- The queue's order (newest first, then package and id), for one state and for all.
create index schema_change_status_order_idx on schema_change (status, created_at desc, package, id);
create index schema_change_order_idx on schema_change (created_at desc, package, id);
