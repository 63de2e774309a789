-- Registry settings: rules every process (servers, command lines) reads from here inside the
-- transaction they apply to, so that no process can run with a rule of its own. One typed
-- row. Never edit this file once applied; add a new one.

create table schemagate.registry_setting (
    id         boolean primary key default true check (id),
    -- Destructive, breaking and security changes need the approvals of two admins.
    four_eyes  boolean not null default false,
    updated_at timestamptz not null default now()
);
insert into schemagate.registry_setting default values;
