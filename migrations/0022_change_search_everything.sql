-- The queue's search found only package names and item summaries: "password" found nothing
-- although a field, its column and its SQL say it. The stored search text now also holds the
-- change's entities.yaml (entity and field names, as declared) and its SQL plan; comments and
-- reviewers' comments live in their own tables and are searched there (see `change::list`).
drop index if exists schema_change_search_trgm_idx;
alter table schema_change drop column search_text;
alter table schema_change add column search_text text
    generated always as (lower(package || E'\n' || items::text || E'\n' || yaml_snapshot
                               || E'\n' || coalesce(plan_sql, ''))) stored;
alter table schema_change alter column search_text set storage main;

do $$
declare
    trgm_schema text;
begin
    select n.nspname into trgm_schema
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pg_trgm';
    if trgm_schema is not null then
        execute format('create index schema_change_search_trgm_idx on schema_change '
                       'using gin (search_text %I.gin_trgm_ops) with (fastupdate = off)',
                       trgm_schema);
    end if;
end
$$;
