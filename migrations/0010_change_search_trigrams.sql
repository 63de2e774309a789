-- The queue's text search (`search_text like '%…%'`) read the stored search text of every open
-- change on each request, so its cost grew with the queue. A trigram index answers it from the
-- index instead. pg_trgm ships with PostgreSQL and is a trusted extension: the registry's owner
-- may create it without being a superuser. Where it is missing or not allowed, search still
-- works, only without the index.
do $$
begin
    if not exists (select 1 from pg_extension where extname = 'pg_trgm') then
        create extension pg_trgm with schema schemagate;
    end if;
exception
    when insufficient_privilege or undefined_file or feature_not_supported then
        raise notice 'pg_trgm is not available: the queue searches without an index';
end
$$;

do $$
declare
    -- Wherever the extension was installed, so the operator class resolves whatever the path.
    trgm_schema text;
begin
    select n.nspname into trgm_schema
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pg_trgm';
    if trgm_schema is not null then
        -- Without fastupdate, new rows go straight into the index instead of a pending list
        -- that every search reads (and the planner avoids) until the next vacuum.
        execute format('create index schema_change_search_trgm_idx on schema_change '
                       'using gin (search_text %I.gin_trgm_ops) with (fastupdate = off)',
                       trgm_schema);
    end if;
end
$$;
