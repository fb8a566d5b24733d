-- postgresql-roles.sql - least-privilege roles for a tokenauth store in
-- PostgreSQL.  Installed as /usr/share/tokenauth/postgresql-roles.sql.
--
--   tokenauth_admin   owns the database and its tables: tokenauth init,
--                     schema migrations, issue, revoke, otp enroll/remove,
--                     unlock, store copy, and tokenauthd nodes that serve
--                     the admin API (/generate, OTP registration).
--   tokenauth_verify  the verify path only (PAM and SASL hosts that use the
--                     database directly, tokenauthd nodes that only
--                     validate): reads tokens and OTP rows, moves an OTP
--                     counter forward, keeps the failure counters.  It can
--                     not issue, revoke or un-revoke a token, enroll or
--                     change an OTP secret, or alter the schema.
--
-- Run it as a superuser (or a role with CREATEROLE and CREATEDB) with psql,
-- twice: once before `tokenauth init` and once after it.
--
--   psql -X -v ON_ERROR_STOP=1 -d postgres -f postgresql-roles.sql
--       creates both roles (LOGIN, no password) and the database, owned by
--       tokenauth_admin;
--   tokenauth init          (with a DSN naming user=tokenauth_admin)
--   psql -X -v ON_ERROR_STOP=1 -d postgres -f postgresql-roles.sql
--       grants tokenauth_verify its rights on the tables init created.
--
-- Run it again after every upgrade that migrates the schema (the admin
-- role migrates it on first open; the verify role cannot).  Every step is
-- idempotent.  Names can be changed with psql variables:
--   -v db=tokenauth -v admin=tokenauth_admin -v verify=tokenauth_verify
-- Passwords are not set here: use \password ROLE, or certificate or peer
-- authentication in pg_hba.conf, and put the role in each host's DSN file.

\set ON_ERROR_STOP on
\if :{?db}
\else
\set db tokenauth
\endif
\if :{?admin}
\else
\set admin tokenauth_admin
\endif
\if :{?verify}
\else
\set verify tokenauth_verify
\endif

SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'admin') AS need_admin,
       NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'verify') AS need_verify,
       NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') AS need_db \gset
\if :need_admin
CREATE ROLE :"admin" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
\endif
\if :need_verify
CREATE ROLE :"verify" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
\endif
\if :need_db
CREATE DATABASE :"db" OWNER :"admin" ENCODING 'UTF8' TEMPLATE template0;
\endif

\connect :"db"
-- Nobody else connects or creates anything in this database.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"admin", :"verify";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

SELECT to_regclass('public.tokenauth_schema') IS NOT NULL
       AND to_regclass('public.tokens') IS NOT NULL
       AND to_regclass('public.otp') IS NOT NULL
       AND to_regclass('public.throttle') IS NOT NULL AS have_tables \gset
\if :have_tables
BEGIN;
REVOKE ALL ON public.tokenauth_schema, public.tokens, public.otp, public.throttle
    FROM PUBLIC, :"verify";
-- the schema version, token hashes and their state, sealed OTP secrets
GRANT SELECT ON public.tokenauth_schema, public.tokens, public.otp TO :"verify";
-- an accepted OTP code moves the counter forward (one conditional UPDATE);
-- no other column of an OTP row can change
GRANT UPDATE (next) ON public.otp TO :"verify";
-- failure counters and lockouts, kept by the verify path itself
GRANT SELECT, INSERT, UPDATE, DELETE ON public.throttle TO :"verify";
-- schema 4: a check records a token's last use, at most once an hour
-- (one conditional UPDATE of that column alone); portal sessions are
-- written only by tokenauthd with the portal on, which runs as the admin
-- role (it issues and revokes tokens), so the verify role gets none
GRANT UPDATE (last_used) ON public.tokens TO :"verify";
-- UPDATE (next) would also let the verify role move a counter back and
-- make a spent HOTP/TOTP code good again: only the tables' owner (enroll
-- --replace, store copy --force) may lower it
CREATE OR REPLACE FUNCTION public.tokenauth_otp_forward() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID),
                       'USAGE') THEN
        RAISE EXCEPTION 'tokenauth: an OTP counter only moves forward'
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END $$;
ALTER FUNCTION public.tokenauth_otp_forward() OWNER TO :"admin";
REVOKE ALL ON FUNCTION public.tokenauth_otp_forward() FROM PUBLIC;
DROP TRIGGER IF EXISTS tokenauth_otp_forward ON public.otp;
CREATE TRIGGER tokenauth_otp_forward BEFORE UPDATE OF next ON public.otp
    FOR EACH ROW WHEN (NEW.next < OLD.next) EXECUTE FUNCTION public.tokenauth_otp_forward();
COMMIT;
\echo tokenauth: :verify may now verify against database :db
\else
\echo tokenauth: roles and database :db are ready; run tokenauth init as :admin, then this file again
\endif
