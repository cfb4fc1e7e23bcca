#include "api_fixture.hpp"

#include <fstream>

#include "support/pg_cluster.hpp"

namespace tb::test {
namespace {

const std::string kSecret = "an-e2e-test-secret-that-is-long-enough-0123456789";

}  // namespace

void ApiTest::SetUpTestSuite() {
  smtp_ = std::make_unique<SmtpServer>();
  smtp_->start();
  auto o = served_options("e2e");
  o.env = {{"SMTP_URL", smtp_->url()},
           {"SMTP_FROM", "backups@example.com"},
           {"JWT_SECRET", kSecret},
           {"JOB_LEASE_SECONDS", "5"}};
  o.seed_sql = R"sql(
    INSERT INTO control_plane.projects (id, slug, name) VALUES
      ('acme', 'acme', 'Acme'), ('acme2', 'acme2', 'Acme 2'), ('other', 'other', 'Other');
    CREATE SCHEMA tenant_acme;
    CREATE TABLE tenant_acme.customers (id serial PRIMARY KEY, name text NOT NULL, note text, tags text[], data jsonb, photo bytea);
    INSERT INTO tenant_acme.customers (name, note, tags, data, photo)
      SELECT 'customer ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'naïve café ☕ ' || g END,
             ARRAY['a', 'b' || g], jsonb_build_object('n', g, 'nested', jsonb_build_array(g, 'x')),
             decode(md5(g::text), 'hex')
      FROM generate_series(1, 500) g;
    CREATE TABLE tenant_acme."Order Items" (id bigint PRIMARY KEY, customer_id int REFERENCES tenant_acme.customers(id), "select" numeric(10,2));
    INSERT INTO tenant_acme."Order Items" SELECT g, 1 + g % 500, g * 1.25 FROM generate_series(1, 300) g;
    CREATE SCHEMA tenant_acme2;
    CREATE TABLE tenant_acme2.secret_table (x int);
    CREATE SCHEMA tenant_other;
    CREATE TABLE tenant_other.other_table (y int);
  )sql";
  deploy(o);
  other_token_ = other_project_token();
  admin_token_ = mint({"--role", "admin", "--sub", "root"});
}

boost::json::object ApiTest::export_and_wait(const std::string& body) {
  auto r = http_post_json(url("/api/backup/export"), body, token_);
  EXPECT_EQ(r.status, 202) << r.body;
  auto data = r.json().at("data").as_object();
  EXPECT_EQ(data.at("status").as_string(), "pending");
  EXPECT_EQ(data.at("project_id").as_string(), "acme");
  return wait_for_job(std::string(data.at("job_id").as_string()), token_);
}

void ApiTest::expect_restores(const std::string& file, const std::string& format,
                              const std::string& compression) {
  auto& pg = PgCluster::shared();
  auto target = pg.create_database("restore");
  std::string decompress = compression == "zstd"   ? "zstd -dc " + file
                           : compression == "gzip" ? "gzip -dc " + file
                                                   : "cat " + file;
  if (format == "sql") {
    run_command(decompress + " | " + pg.bin_dir() + "/psql -q -v ON_ERROR_STOP=1 '" +
                pg.conninfo(target) + "'");
  } else {
    run_command(decompress + " | " + pg.bin_dir() + "/pg_restore --exit-on-error -d '" +
                pg.conninfo(target) + "'");
  }
  for (const auto* table : {"tenant_acme.customers", "tenant_acme.\"Order Items\""}) {
    EXPECT_EQ(table_digest(target, table), table_digest(db_, table)) << table;
  }
  // Nothing of another tenant came along, not even one whose name starts alike.
  EXPECT_EQ(
      pg.query_value(target, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant_%'"),
      "1");
  pg.drop_database(target);
}

std::string ApiTest::download_to_file(const std::string& backup_id) {
  auto r = http_get(url("/api/backups/" + backup_id + "/download"), token_);
  EXPECT_EQ(r.status, 200) << r.body;
  auto path = make_temp_dir("tb-dl") + "/dump";
  std::ofstream(path, std::ios::binary) << r.body;
  return path;
}

}  // namespace tb::test
