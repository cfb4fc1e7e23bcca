// A tenant with its own database role (not a superuser) owns tenant_acme and
// writes its own functions. Whatever that code does while its backup is
// replayed, or afterwards, runs with the tenant's privileges: it cannot reach
// the platform's data, the restored objects stay the tenant's, and the
// tenant's next migration works. These tests fail when the replay runs in the
// service's session (even behind SET ROLE, which tenant code can undo).
#include "db/migrate.hpp"
#include "restore_fixture.hpp"

namespace tb::backup {
namespace {

// Platform data the tenant must never change; `acme_app` is the tenant's role.
constexpr const char* kTenantSeed = R"SQL(
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'acme_app') THEN CREATE ROLE acme_app LOGIN; END IF;
END $$;
CREATE TABLE public.platform_secret (x text);
INSERT INTO public.platform_secret VALUES ('untouched');
CREATE SCHEMA tenant_acme AUTHORIZATION acme_app;
SET ROLE acme_app;
-- Runs for every row COPY loads: tries to become the session's user and
-- write outside its schema. Swallows its own failure, so a refused attempt
-- does not fail the restore (the attack is silent, as a real one would be).
CREATE FUNCTION tenant_acme.sneaky(v int) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
  BEGIN
    RESET ROLE;
    UPDATE public.platform_secret SET x = 'changed during the restore by ' || current_user;
  EXCEPTION WHEN others THEN NULL;
  END;
  BEGIN
    UPDATE control_plane.replay_logins SET schema_name = 'tenant_other';
  EXCEPTION WHEN others THEN NULL;
  END;
  RETURN true;
END $f$;
CREATE TABLE tenant_acme.guarded (v int CHECK (tenant_acme.sneaky(v)), note text DEFAULT 'n');
INSERT INTO tenant_acme.guarded (v) VALUES (1), (2), (3);
-- After the restore: runs as whoever owns it.
CREATE FUNCTION tenant_acme.escalate() RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $f$
BEGIN
  UPDATE public.platform_secret SET x = 'changed after the restore by ' || current_user;
  RETURN current_user;
END $f$;
CREATE SEQUENCE tenant_acme.invoice_seq;
RESET ROLE;
-- Seeding ran the CHECK function in this superuser session, where its
-- RESET ROLE worked: exactly the attack. Start the tests from a clean value.
UPDATE public.platform_secret SET x = 'untouched';
)SQL";

class TenantRoleRestore : public RestoreTest {
 protected:
  void seed() override { PgCluster::shared().exec(db_, kTenantSeed); }

  std::string secret() const {
    return PgCluster::shared().query_value(db_, "SELECT x FROM public.platform_secret");
  }
  std::string owner_of(const std::string& what) const {
    return PgCluster::shared().query_value(db_, what);
  }
};

TEST_F(TenantRoleRestore, TenantCodeRunsAsTheTenantDuringAndAfterTheReplay) {
  auto& pg = PgCluster::shared();
  auto file = make_backup(Format::kSql, Compression::kZstd);
  pg.exec(db_, "DELETE FROM tenant_acme.guarded WHERE v = 3");
  auto t = target();
  EXPECT_EQ(t.identity.owner, "acme_app");
  EXPECT_FALSE(t.identity.aside_through_service);
  restore_into(t, file, Format::kSql, Compression::kZstd);

  // The data came back; the CHECK function ran for each row and achieved nothing.
  EXPECT_EQ(
      pg.query_value(db_, "SELECT string_agg(v::text, ',' ORDER BY v) FROM tenant_acme.guarded"),
      "1,2,3");
  EXPECT_EQ(secret(), "untouched");
  EXPECT_EQ(pg.query_value(db_, "SELECT schema_name FROM control_plane.replay_logins"),
            "tenant_acme");

  // Everything restored belongs to the tenant's role again.
  EXPECT_EQ(
      owner_of("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'tenant_acme'"),
      "acme_app");
  EXPECT_EQ(owner_of("SELECT string_agg(DISTINCT relowner::regrole::text, ',') FROM pg_class "
                     "WHERE relnamespace = 'tenant_acme'::regnamespace"),
            "acme_app");
  EXPECT_EQ(owner_of("SELECT string_agg(DISTINCT proowner::regrole::text, ',') FROM pg_proc "
                     "WHERE pronamespace = 'tenant_acme'::regnamespace"),
            "acme_app");

  // The SECURITY DEFINER function runs as the tenant: refused, nothing changed.
  EXPECT_THROW(pg.exec(db_, "SET ROLE acme_app; SELECT tenant_acme.escalate()"), std::exception);
  EXPECT_EQ(secret(), "untouched");

  // The tenant's next migration works on its own tables.
  pg.exec(db_,
          "SET ROLE acme_app; ALTER TABLE tenant_acme.guarded ADD COLUMN added_later int; "
          "CREATE INDEX ON tenant_acme.guarded (v)");
  EXPECT_EQ(
      pg.query_value(
          db_,
          "SELECT count(*) FROM pg_attribute WHERE attrelid = 'tenant_acme.guarded'::regclass "
          "AND attname = 'added_later'"),
      "1");
}

TEST_F(TenantRoleRestore, IntoADroppedSchemaTheRecordedOwnerGetsItBack) {
  auto& pg = PgCluster::shared();
  auto file = make_backup(Format::kTar, Compression::kGzip);
  pg.exec(db_, "DROP SCHEMA tenant_acme CASCADE");
  auto t = target(SystemTime{std::chrono::seconds(1795600000)}, "acme_app");
  EXPECT_EQ(t.identity.owner, "acme_app");
  restore_into(t, file, Format::kTar, Compression::kGzip);
  EXPECT_EQ(pg.query_value(db_, "SELECT count(*) FROM tenant_acme.guarded"), "3");
  EXPECT_EQ(
      owner_of("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'tenant_acme'"),
      "acme_app");
  EXPECT_EQ(secret(), "untouched");
}

TEST_F(TenantRoleRestore, AnOwnerWithTheServicesPrivilegesIsNeverTheReplaysOwner) {
  // A recorded owner that is a superuser (a backup of the demo, say) does not
  // make the replay a superuser's.
  auto& pg = PgCluster::shared();
  pg.exec(db_, "DROP SCHEMA tenant_acme CASCADE");
  auto t = target(SystemTime{std::chrono::seconds(1795600000)}, "postgres");
  EXPECT_EQ(t.identity.owner, "tb_owner_acme");
  EXPECT_EQ(pg.query_value(db_,
                           "SELECT rolsuper OR rolcreaterole OR rolcanlogin FROM pg_roles "
                           "WHERE rolname = 'tb_owner_acme'"),
            "f");
  EXPECT_EQ(pg.query_value(
                db_,
                "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls FROM pg_roles "
                "WHERE rolname = 'tb_replay_acme'"),
            "f");
}

TEST_F(TenantRoleRestore, CodeThatRewritesTheGuardsRecordsIsCaught) {
  // The guard's "before" table sits in the replay's own session. A dump that
  // creates a schema elsewhere and then writes that schema into the table,
  // so the comparison would not see it, is refused by the digest psql holds.
  auto& pg = PgCluster::shared();
  const std::string before = digest("tenant_acme");
  auto file = write_sql(R"SQL(
CREATE SCHEMA tenant_acme;
CREATE SCHEMA hidden_elsewhere;
DO $$ DECLARE t text; BEGIN
  SELECT c.relname INTO t FROM pg_class c WHERE c.relname LIKE 'tb_restore_guard_%' AND pg_table_is_visible(c.oid);
  EXECUTE format('INSERT INTO pg_temp.%I SELECT ''pg_namespace'', n.oid::text, n.xmin::text, n.oid, false, '
                 'n.nspname FROM pg_namespace n WHERE n.nspname = ''hidden_elsewhere''', t);
END $$;
)SQL");
  try {
    restore(file);
    FAIL() << "restored";
  } catch (const OutsideSchema& e) {
    EXPECT_NE(e.message().find("restore guard"), std::string::npos) << e.message();
  }
  EXPECT_EQ(pg.query_value(db_, "SELECT to_regnamespace('hidden_elsewhere') IS NULL"), "t");
  EXPECT_EQ(digest("tenant_acme"), before);
  EXPECT_TRUE(aside_schemas().empty());
}

TEST_F(TenantRoleRestore, OnlyTheProjectsReplayLoginMaySetItsSchemaAside) {
  // set_schema_aside() runs with the service's rights: nobody else may call it,
  // and a replay login only for its own schema.
  auto& pg = PgCluster::shared();
  target();  // registers tb_replay_acme for tenant_acme
  pg.exec(db_, "CREATE SCHEMA tenant_other");
  EXPECT_THROW(pg.exec(db_,
                       "SET ROLE acme_app; SELECT control_plane.set_schema_aside('tenant_other', "
                       "'tenant_other__pre_restore_x')"),
               std::exception);
  EXPECT_THROW(
      pg.exec(db_,
              "SET SESSION AUTHORIZATION tb_replay_acme; SELECT control_plane.set_schema_aside("
              "'tenant_other', 'tenant_other__pre_restore_x')"),
      std::exception);
  EXPECT_EQ(pg.query_value(db_, "SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_other'"),
            "1");
}

}  // namespace
}  // namespace tb::backup

namespace tb::backup {
namespace {

TEST_F(TenantRoleRestore, AServiceRoleWithOnlyTheDocumentedGrantsRestores) {
  // The README's privilege model for a service role that is not a superuser:
  // CREATEROLE, CREATE on the database WITH GRANT OPTION, and read access to
  // the tenant (here: membership in its role). The control plane is its own.
  auto& pg = PgCluster::shared();
  pg.exec(db_,
          "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tb_service') THEN "
          "CREATE ROLE tb_service LOGIN CREATEROLE; END IF; END $$;"
          "DROP SCHEMA control_plane CASCADE;"
          "GRANT CREATE ON DATABASE " +
              db_ +
              " TO tb_service WITH GRANT OPTION;"
              "GRANT acme_app TO tb_service;");
  const std::string service_conninfo = conninfo() + " user=tb_service";
  auto as_service = db::Connection::open(service_conninfo);
  service_ = &as_service;
  db::migrate(*service_);
  auto file = make_backup(Format::kSql, Compression::kNone);
  pg.exec(db_, "DELETE FROM tenant_acme.guarded");

  RestoreTarget t;
  t.pg_bin_dir = pg.bin_dir();
  t.identity = prepare_replay_identity(*service_, service_conninfo, "acme", "acme_app",
                                       std::chrono::hours(1));
  t.schema = "tenant_acme";
  t.aside_schema = aside_schema_name("tenant_acme", SystemTime{std::chrono::seconds(1795600000)});
  EXPECT_EQ(t.identity.owner, "acme_app");
  restore_into(t, file);
  EXPECT_EQ(pg.query_value(db_, "SELECT count(*) FROM tenant_acme.guarded"), "3");
  EXPECT_EQ(secret(), "untouched");
  EXPECT_EQ(
      owner_of("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'tenant_acme'"),
      "acme_app");
  retire_replay_identity(*service_, t.identity);
  EXPECT_EQ(
      pg.query_value(db_, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tb_replay_acme'"),
      "f");
}

}  // namespace
}  // namespace tb::backup
