-- The registry: accounts, schema changes, the applied state per package, the apply lease and
-- the append-only, hash-chained audit log. Never edit this file once applied; add a new one.

create table account (
    id            bigint generated always as identity primary key,
    username      text not null,
    password_hash text not null,
    role          text not null,
    disabled      boolean not null default false,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    constraint account_username_key unique (username),
    constraint account_role_check check (role in ('admin', 'reviewer', 'viewer')),
    constraint account_username_check check (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$')
);

-- One package's change set, reviewed as a unit. Items, conflicts and risk are derived by the
-- domain core at scan time and stored as they were shown to the reviewer.
create table schema_change (
    id              uuid primary key default gen_random_uuid(),
    package         text not null,
    kind            text not null,
    status          text not null,
    risk            text not null,
    base_checksum   text,
    target_checksum text not null,
    yaml_snapshot   text not null,
    fragment_before text not null,
    fragment_after  text not null,
    -- SHA-256 of fragment_after: the restart job refuses a fragment that no longer matches.
    fragment_sha256 text not null default '',
    items           jsonb not null default '[]',
    conflicts       jsonb not null default '[]',
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    created_by      text not null,
    decided_at      timestamptz,
    decided_by      text,
    note            text,
    approval_seq    bigint,
    applied_at      timestamptz,
    apply_log       text,
    failure_reason  text,
    constraint schema_change_kind_check check (kind in ('upsert', 'drop')),
    constraint schema_change_status_check check (status in
        ('pending', 'approved', 'applying', 'applied', 'failed', 'rejected', 'superseded')),
    constraint schema_change_risk_check check (risk in
        ('safe', 'hygiene', 'data_dependent', 'locking', 'breaking', 'security', 'data_loss'))
);

-- At most one open change per package: a new scan supersedes the open one.
create unique index schema_change_one_open_per_package
    on schema_change (package) where status in ('pending', 'approved', 'applying');
create index schema_change_status_idx on schema_change (status, created_at desc);
create index schema_change_package_idx on schema_change (package, created_at desc);
create index schema_change_target_idx on schema_change (package, target_checksum);
create sequence schema_change_approval_seq;

-- What is live: the last applied content of each package.
create table applied_package (
    package        text primary key,
    checksum       text not null,
    yaml_snapshot  text not null,
    fragment       text not null,
    entities       jsonb not null default '[]',
    acl            jsonb not null default '{}',
    change_id      uuid not null references schema_change (id),
    applied_at     timestamptz not null default now()
);

-- One runner of `schemagate apply` at a time; a crashed holder's lease expires.
create table apply_lease (
    name         text primary key,
    holder       text not null,
    acquired_at  timestamptz not null default now(),
    heartbeat_at timestamptz not null default now(),
    expires_at   timestamptz not null
);

-- Append-only and hash-chained: each row stores the hash of the previous row, so an edit,
-- deletion or reordering is detectable even by someone who bypasses the trigger below.
create table audit_event (
    seq        bigint primary key,
    at         timestamptz not null,
    actor      text not null,
    action     text not null,
    change_id  uuid,
    package    text,
    details    jsonb not null default '{}',
    prev_hash  text not null,
    hash       text not null
);
create index audit_event_action_idx on audit_event (action, seq);
create index audit_event_change_idx on audit_event (change_id, seq);

create function audit_event_is_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'audit_event is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end
$$;

create trigger audit_event_no_update_or_delete
    before update or delete on audit_event
    for each row execute function audit_event_is_append_only();
create trigger audit_event_no_truncate
    before truncate on audit_event
    for each statement execute function audit_event_is_append_only();
