-- What PostgreSQL enforces for a package is what its policies were compiled with when it was
-- applied: the row-level-security configuration (settings, role hierarchy) is kept with the
-- applied state, so `acl check` answers with it, not with the flags of the process asking.
alter table schemagate.applied_package add column row_security jsonb;
