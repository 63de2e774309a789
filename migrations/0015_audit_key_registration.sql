-- The audit key's registration is history: an event sealed with the key it registers
-- (`audit.key_registered`), after which every event must be sealed. It is written once, when
-- the key is first registered (or, for a key registered before this migration, at the next
-- start); the flag keeps a later start from writing it again after the event was removed.
alter table schemagate.audit_key add column registration_recorded boolean not null default false;
