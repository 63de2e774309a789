-- Sessions end when credentials change. Every session stores the account's credentials version
-- at sign-in; a password change, a role change or disabling the account moves the version on, so
-- the next request with an older session is signed out. Enabling an account never moves it back.
alter table schemagate.account add column credentials_version bigint not null default 1;
