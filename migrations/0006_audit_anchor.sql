-- Sealed audit events: each event's hash is sealed with an HMAC under a key kept outside the
-- database (see app/src/registry/audit/seal.rs). Never edit this file once applied; add a new one.

-- Events written before sealing began keep a null seal; a later sealed event vouches for them
-- through the hash chain.
alter table audit_event add column mac text;

-- The fingerprint of the key the registry's events are sealed with, so that a process with
-- another key (or none) refuses to start instead of writing events that fail verification.
create table audit_key (
    id boolean primary key default true check (id),
    fingerprint text not null,
    registered_at timestamptz not null default now()
);
