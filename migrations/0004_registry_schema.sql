-- The registry moves into its own PostgreSQL schema, `schemagate`, so that it never shows up
-- among the platform's tables (or as drift) when the registry and the platform share a
-- database. Registry connections put `schemagate` first on their search path; for sessions
-- opened without that option (psql, test harnesses), the role's default search path in this
-- database is set too, when the role may set it.
create schema if not exists schemagate;

do $$
declare
    name text;
begin
    foreach name in array array['_sqlx_migrations', 'account', 'schema_change', 'applied_package',
                                'apply_lease', 'audit_event', 'sign_in_throttle']
    loop
        if to_regclass(format('public.%I', name)) is not null
           and to_regclass(format('schemagate.%I', name)) is null then
            execute format('alter table public.%I set schema schemagate', name);
        end if;
    end loop;
    if to_regclass('public.schema_change_approval_seq') is not null then
        alter sequence public.schema_change_approval_seq set schema schemagate;
    end if;
    if to_regprocedure('public.audit_event_is_append_only()') is not null then
        alter function public.audit_event_is_append_only() set schema schemagate;
    end if;
    begin
        execute format('alter role %I in database %I set search_path = schemagate, public',
                       current_user, current_database());
    exception when insufficient_privilege then
        raise notice 'cannot set the default search path of role %: registry connections set it themselves', current_user;
    end;
end
$$;

set search_path = schemagate, public;
