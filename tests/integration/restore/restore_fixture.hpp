// The restore tests' fixture: a fresh database per test with the control
// plane migrated (the replay's control_plane functions live there) and the
// tenant schema `tenant_acme` seeded; backups made through the real export;
// restores run as the replay identity the restore job prepares.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "backup/export.hpp"
#include "backup/replay_identity.hpp"
#include "backup/restore.hpp"
#include "db/connection.hpp"
#include "destinations/local.hpp"
#include "io/hash.hpp"
#include "support/migrated_database.hpp"
#include "support/pg_cluster.hpp"

namespace tb::backup {

namespace fs = std::filesystem;
using tb::test::PgCluster;

inline constexpr const char* kSeed = R"SQL(
CREATE SCHEMA tenant_acme;
SET search_path = tenant_acme;
CREATE TABLE "Mixed Case" (id serial PRIMARY KEY, "select" text);
INSERT INTO "Mixed Case" ("select") VALUES ('Zürich 東京'), (NULL), (E'line\nbreak\ttab \\ back'), ('O''Brien');
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, data jsonb, photo bytea,
                        mixed_id int REFERENCES "Mixed Case"(id));
INSERT INTO customers SELECT g, 'customer ' || g, jsonb_build_object('k', g), decode(md5(g::text), 'hex'),
                             1 + g % 4 FROM generate_series(1, 2000) g;
CREATE SEQUENCE invoice_seq START 1000;
SELECT setval('invoice_seq', 1234);
CREATE FUNCTION greet(n text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'hi ' || n $$;
CREATE VIEW named AS SELECT id, name FROM customers WHERE id < 10;
COMMENT ON TABLE customers IS 'the customers';
CREATE TABLE public.platform (x int);
INSERT INTO public.platform VALUES (42);
)SQL";

// Changes made "after the backup": the restore must undo all of them.
inline constexpr const char* kChange = R"SQL(
UPDATE tenant_acme.customers SET name = 'changed' WHERE id <= 100;
DELETE FROM tenant_acme.customers WHERE id > 1900;
CREATE TABLE tenant_acme.added_later (y text);
INSERT INTO tenant_acme.added_later VALUES ('new');
SELECT setval('tenant_acme.invoice_seq', 5000);
)SQL";

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed();
    storage_ = tb::test::make_temp_dir("tb-restore-storage");
  }
  void TearDown() override { fs::remove_all(storage_); }
  // The tenant schema as the service created it (owned by the superuser, as
  // in the `make run` demo); fixtures with a tenant role override this.
  virtual void seed() { PgCluster::shared().exec(db_, kSeed); }

  std::string conninfo() const { return PgCluster::shared().conninfo(db_); }

  // Every table of `schema`: name, row count and md5 of its rows; and the sequence.
  std::string digest(const std::string& schema) const {
    auto& pg = PgCluster::shared();
    std::string tables =
        pg.query_value(db_,
                       "SELECT coalesce(string_agg(tablename || '=' || (xpath('/row/c/text()', "
                       "query_to_xml(format("
                       "'SELECT count(*) || '':'' || coalesce(md5(string_agg(t::text, '','' ORDER "
                       "BY t::text)), '''') AS c "
                       "FROM %I.%I t', schemaname, tablename), false, true, '')))[1]::text, ' ' "
                       "ORDER BY tablename), '') "
                       "FROM pg_tables WHERE schemaname = '" +
                           schema + "'");
    std::string seq = pg.query_value(db_, "SELECT coalesce((SELECT last_value::text FROM " +
                                              schema + ".invoice_seq), '-') WHERE to_regclass('" +
                                              schema + ".invoice_seq') IS NOT NULL");
    return tables + " seq=" + seq;
  }

  std::vector<std::string> aside_schemas() const {
    return PgCluster::shared().query_column(db_,
                                            "SELECT nspname FROM pg_namespace WHERE nspname LIKE "
                                            "'tenant_acme\\_\\_pre\\_restore\\_%' ORDER BY 1");
  }

  // A backup of tenant_acme through the real export; returns its path and sha256.
  std::pair<std::string, std::string> make_backup(Format format, Compression compression) {
    destinations::LocalDestination local(storage_, "acme");
    std::string name =
        file_name_for("acme", SystemTime{std::chrono::seconds(1795514400)}, format, compression);
    std::atomic<bool> cancel{false};
    ExportOptions options;
    options.format = format;
    options.compression = compression;
    auto r =
        run_export({PgCluster::shared().bin_dir(), conninfo(), "tenant_acme"}, options, {&local},
                   {"acme", name, content_type_for(format, compression)}, {}, cancel);
    return {storage_ + "/acme/" + name, r.sha256_hex};
  }

  // A hand-made plain SQL "backup".
  std::pair<std::string, std::string> write_sql(const std::string& sql) {
    std::string path = storage_ + "/handmade.sql";
    std::ofstream(path, std::ios::binary) << sql;
    return {path, io::sha256_file(path)};
  }

  // What the restore job does: prepare the replay identity (the schema's
  // owner, or the project's own role when the owner is privileged).
  RestoreTarget target(SystemTime at = SystemTime{std::chrono::seconds(1795600000)},
                       const std::string& recorded_owner = {}) {
    RestoreTarget t;
    t.pg_bin_dir = PgCluster::shared().bin_dir();
    t.identity = prepare_replay_identity(*service_, conninfo(), "acme", recorded_owner,
                                         std::chrono::hours(1));
    t.schema = "tenant_acme";
    t.aside_schema = aside_schema_name("tenant_acme", at);
    return t;
  }

  RestoreResult restore(const std::pair<std::string, std::string>& file,
                        Format format = Format::kSql, Compression compression = Compression::kNone,
                        const std::atomic<bool>* cancel = nullptr) {
    return restore_into(target(), file, format, compression, cancel);
  }
  RestoreResult restore_into(const RestoreTarget& t,
                             const std::pair<std::string, std::string>& file,
                             Format format = Format::kSql,
                             Compression compression = Compression::kNone,
                             const std::atomic<bool>* cancel = nullptr) {
    static const std::atomic<bool> never{false};
    RestoreOptions options;
    options.format = format;
    options.compression = compression;
    options.expected_sha256 = file.second;
    return run_restore(t, file.first, options, {}, cancel != nullptr ? *cancel : never);
  }

  tb::test::MigratedDatabase database_{"restore"};
  std::string db_ = database_.name();
  std::string storage_;
  db::Connection* service_ = &database_.conn();  // the service's connection
};

}  // namespace tb::backup
