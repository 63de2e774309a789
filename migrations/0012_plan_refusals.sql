-- The plan check parses every planned statement and refuses those that reach beyond the
-- change's own objects. A refused plan keeps its SQL (so the reviewer sees the statement) and
-- lists the refused statements here, numbered from 1; plan_error says why in words. Such a
-- change cannot be approved, and the restart job checks the same again before it runs anything.
alter table schema_change add column plan_refusals jsonb not null default '[]';

-- Nothing but the registry's owner reaches the registry's schema.
revoke all on schema schemagate from public;

-- Other roles (the platform's migration role and its application role among them) may not even
-- connect to the registry's database. A registry owner that does not own the database only gets
-- a warning here; the deployment guide then asks the database owner to run the same statement.
do $$
begin
    execute format('revoke connect on database %I from public', current_database());
end
$$;
