-- The entity names each change's snapshot declares, so finding which packages declare an
-- entity is an index lookup instead of parsing every snapshot that mentions its name. Scans fill
-- it; rows written before this migration are filled when a process next connects
-- (`db::fill_declares`), and readers treat a null as "not known yet".
alter table schema_change add column declares text[];
create index schema_change_declares_idx on schema_change using gin (declares);
