-- Sign-in throttling: one row per throttled key (`user:<name>` or `client:<address>`). An attempt
-- reserves a slot in one statement before any password is checked, so concurrent attempts can
-- never check more passwords than the limit allows within a window.
create table sign_in_throttle (
    key          text primary key,
    window_start timestamptz not null,
    attempts     integer not null
);
