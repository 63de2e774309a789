-- The row-level-security configuration (settings, role hierarchy) that policies are compiled
-- with is registry state, not only a process's flags: the restart job records the first one it
-- sees, and while four-eyes is on a different one needs two admins
-- (`schemagate settings row-security --as A`, then `--as B`) before the job compiles with it.
alter table schemagate.registry_setting add column row_security jsonb;

alter table schemagate.admin_request drop constraint admin_request_kind_check;
alter table schemagate.admin_request add constraint admin_request_kind_check
    check (kind in ('four_eyes_off', 'admin_role', 'row_security'));
