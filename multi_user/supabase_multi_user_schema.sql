-- MT5 Desk / web dashboard: linked MetaTrader 5 accounts, one row per (owner, login, server).
--
-- Run in the Supabase SQL editor (or psql as the postgres role). Re-runnable: every statement is
-- guarded, policies are dropped and recreated, so running it again upgrades in place.
--
-- Security model (Supabase RLS guidance):
--   * RLS is enabled; every policy is for the `authenticated` role only and compares the row's
--     owner with `(select auth.uid())` (wrapped in a select so it is evaluated once per statement,
--     not once per row).
--   * `anon` has no privileges at all on the table; `authenticated` gets back only what it needs.
--   * Passwords are stored only as Fernet tokens made with the owner's MT5_ENCRYPTION_KEY; the
--     database never sees a plaintext password.
--   * Unlinks are soft deletes (`deleted_at` set, token wiped) so they reach the other machines;
--     the owner may also hard-delete their own rows.

create table if not exists public.user_mt5_credentials (
    id                  uuid primary key default gen_random_uuid(),
    user_id             uuid not null default auth.uid() references auth.users (id) on delete cascade,
    login               bigint not null check (login > 0),
    server              text not null check (char_length(server) between 1 and 128),
    -- Fernet token; null only on a tombstone (an unlinked account keeps no secret)
    password_encrypted  text,
    -- desktop fields; the web dashboard may ignore them
    label               text check (label is null or char_length(label) <= 128),
    investor            boolean not null default false,
    mode                text not null default 'shared' check (mode in ('shared', 'dedicated')),
    terminal_path       text check (terminal_path is null or char_length(terminal_path) <= 1024),
    sort_order          integer not null default 0,
    deleted_at          timestamptz,
    created_at          timestamptz not null default now(),
    -- when the server stored the row: always the database's clock (set by the trigger)
    updated_at          timestamptz not null default now(),
    -- when the change was made, on the server's clock as the writing desktop measured it (see the trigger)
    changed_at          timestamptz,
    constraint user_mt5_credentials_owner_login_server_key unique (user_id, login, server),
    constraint user_mt5_credentials_token_unless_deleted
        check (deleted_at is not null or password_encrypted is not null)
);

-- Columns added after the first release (kept so older installs upgrade by re-running this file).
alter table public.user_mt5_credentials add column if not exists label text;
alter table public.user_mt5_credentials add column if not exists investor boolean not null default false;
alter table public.user_mt5_credentials add column if not exists mode text not null default 'shared';
alter table public.user_mt5_credentials add column if not exists terminal_path text;
alter table public.user_mt5_credentials add column if not exists sort_order integer not null default 0;
alter table public.user_mt5_credentials add column if not exists deleted_at timestamptz;
alter table public.user_mt5_credentials add column if not exists changed_at timestamptz;

-- Sync pulls "changed since" per owner; the unique constraint's index already leads with user_id.
create index if not exists user_mt5_credentials_user_updated_idx
    on public.user_mt5_credentials (user_id, updated_at);

-- updated_at is the server's: now() on every write, never earlier than the row's previous value, whatever
-- a client sends, so no desktop's clock decides whether or when the cloud changed.
-- changed_at is when the change was made, already on the server's clock: the desktop adds its measured
-- offset to the server to its own change time (docs/CLOUD_SYNC.md). It orders conflicting changes. It is
-- never later than updated_at (a change cannot be made after it was stored); a write that does not give
-- one (the web dashboard) was made when it is stored.
create or replace function public.user_mt5_credentials_touch()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if tg_op = 'INSERT' then
        new.created_at := coalesce(new.created_at, now());
        new.updated_at := now();
    else
        -- the owner and the identity of a row never change
        if new.user_id is distinct from old.user_id then
            raise exception 'user_id cannot be changed' using errcode = '42501';
        end if;
        new.created_at := old.created_at;
        new.updated_at := greatest(now(), old.updated_at + interval '1 millisecond');
        if new.changed_at is not distinct from old.changed_at then
            new.changed_at := null;  -- an update that did not say when it was made: made now
        end if;
    end if;
    if new.changed_at is null or new.changed_at > new.updated_at then
        new.changed_at := new.updated_at;
    end if;
    if new.deleted_at is not null then
        new.password_encrypted := null;  -- a tombstone keeps no secret
    end if;
    return new;
end;
$$;

drop trigger if exists user_mt5_credentials_touch on public.user_mt5_credentials;
create trigger user_mt5_credentials_touch
    before insert or update on public.user_mt5_credentials
    for each row execute function public.user_mt5_credentials_touch();

alter table public.user_mt5_credentials enable row level security;

-- Privileges: nothing for anon; authenticated gets row access (RLS narrows it to its own rows).
revoke all on table public.user_mt5_credentials from anon;
revoke all on table public.user_mt5_credentials from authenticated;
grant select, insert, update, delete on table public.user_mt5_credentials to authenticated;

drop policy if exists "Owners read their MT5 accounts" on public.user_mt5_credentials;
create policy "Owners read their MT5 accounts"
    on public.user_mt5_credentials for select
    to authenticated
    using ((select auth.uid()) = user_id);

drop policy if exists "Owners add their MT5 accounts" on public.user_mt5_credentials;
create policy "Owners add their MT5 accounts"
    on public.user_mt5_credentials for insert
    to authenticated
    with check ((select auth.uid()) = user_id);

drop policy if exists "Owners change their MT5 accounts" on public.user_mt5_credentials;
create policy "Owners change their MT5 accounts"
    on public.user_mt5_credentials for update
    to authenticated
    using ((select auth.uid()) = user_id)
    with check ((select auth.uid()) = user_id);

drop policy if exists "Owners delete their MT5 accounts" on public.user_mt5_credentials;
create policy "Owners delete their MT5 accounts"
    on public.user_mt5_credentials for delete
    to authenticated
    using ((select auth.uid()) = user_id);
