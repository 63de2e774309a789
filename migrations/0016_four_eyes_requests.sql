-- Four-eyes protects itself: while it is on, turning it off and giving an account the admin role
-- need two admins. The first admin's request waits here (audited as `four_eyes.requested`)
-- until another admin, whose account existed before it, asks for the same thing.
create table schemagate.admin_request (
    id           bigint generated always as identity primary key,
    kind         text not null check (kind in ('four_eyes_off', 'admin_role')),
    subject      text not null default '',
    requested_by text not null,
    requested_at timestamptz not null default now(),
    confirmed_by text,
    confirmed_at timestamptz
);
create unique index admin_request_open on schemagate.admin_request (kind, subject)
    where confirmed_at is null;

select schemagate.announce_every_table();
