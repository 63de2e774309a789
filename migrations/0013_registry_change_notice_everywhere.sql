-- The page cache's notices, declared once: every table of the registry's schema announces its
-- writes (migration 0011's trigger), except the tables named here, which no page shows. A
-- migration that adds a registry table ends with `select schemagate.announce_every_table();`;
-- a test fails while any table is left without the trigger.

create function schemagate.announce_every_table() returns void
language plpgsql as $$
declare
    name text;
begin
    for name in
        select c.relname
          from pg_class c
          join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'schemagate'
           and c.relkind in ('r', 'p')
           -- Sign-in throttling: a flood of attempts must not empty the cache.
           and c.relname not in ('sign_in_throttle', '_sqlx_migrations')
           and not exists (select 1 from pg_trigger t
                            where t.tgrelid = c.oid and t.tgname = 'announce_registry_change')
    loop
        execute format('create trigger announce_registry_change
                            after insert or update or delete or truncate on schemagate.%I
                            for each statement execute function schemagate.announce_registry_change()',
                       name);
    end loop;
end
$$;

select schemagate.announce_every_table();
