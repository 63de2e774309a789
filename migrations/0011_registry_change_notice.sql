-- Servers keep the pages they rendered while the registry stays as it was. Every statement that
-- writes a table the pages show sends a notice on the channel `schemagate_registry`. PostgreSQL
-- delivers a notice only once its transaction commits (when the write becomes visible), and one
-- per transaction however many statements sent it; a rolled-back write sends none. Sign-in
-- throttling is left out: no page shows it, and a flood of attempts must not empty the cache.
-- Never edit this file once applied; add a new one.

create function schemagate.announce_registry_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify('schemagate_registry', '');
    return null;
end
$$;

do $$
declare
    name text;
begin
    foreach name in array array['account', 'schema_change', 'applied_package', 'apply_lease',
                                'audit_event', 'audit_key', 'review_verdict', 'admin_approval',
                                'registry_setting']
    loop
        execute format('create trigger announce_registry_change
                            after insert or update or delete or truncate on schemagate.%I
                            for each statement execute function schemagate.announce_registry_change()',
                       name);
    end loop;
end
$$;
