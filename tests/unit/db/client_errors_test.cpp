// What a tenant reads of a libpq client's error: no host, port, role,
// database or file of the service, but the rest of the reason.
#include "db/client_errors.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/public_text.hpp"

namespace tb::db {
namespace {

TEST(PublicClientError, AFailedConnectionIsOneSentence) {
  for (
      const char* line : {
          R"(connection to server at "10.0.0.5", port 5432 failed: Connection refused)",
          R"(connection to server at "db.internal" (10.0.0.5), port 5432 failed: FATAL:  password authentication failed for user "svc_backup")",
          R"(connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  role "svc_backup" does not exist)",
          R"(could not translate host name "db.internal" to address: Name or service not known)",
          R"(FATAL:  no pg_hba.conf entry for host "10.0.0.7", user "svc_backup", database "app", no encryption)",
      }) {
    EXPECT_EQ(public_client_error(line), "could not connect to the database") << line;
  }
  EXPECT_EQ(public_client_error("server closed the connection unexpectedly"),
            "the connection to the database was lost");
}

TEST(PublicClientError, OtherReasonsKeepTheirWordsButNotTheServicesNames) {
  EXPECT_EQ(public_client_error(R"(no matching schemas were found for pattern "tenant_ghost")"),
            R"(no matching schemas were found for pattern "tenant_ghost")");
  EXPECT_EQ(public_client_error("query failed: ERROR:  permission denied for table customers"),
            "query failed: ERROR:  permission denied for table customers");
  EXPECT_EQ(public_client_error(R"(ERROR:  role "svc_backup" does not exist)"),
            R"(ERROR:  role "[hidden]" does not exist)");
  EXPECT_EQ(public_client_error(
                R"(could not open file "/var/lib/postgresql/15/main/base/1/2": Permission denied)"),
            R"(could not open file "[hidden]": Permission denied)");
}

TEST(HideInternals, HidesHostsPortsRolesConninfoAndPaths) {
  EXPECT_EQ(hide_internals("reached 192.168.1.20 then (fe80::1) on port 6432"),
            "reached [hidden] then ([hidden]) on port [hidden]");
  EXPECT_EQ(hide_internals("host=db.internal port=5432 user=svc dbname=app password='x y'"),
            "host=[hidden] port=[hidden] user=[hidden] dbname=[hidden] password=[hidden]");
  EXPECT_EQ(hide_internals("cannot write /srv/backups/acme/x.tmp: No space left"),
            "cannot write [hidden]: No space left");
  EXPECT_EQ(hide_internals(R"(must be member of role "tenant_owner")"),
            R"(must be member of role "[hidden]")");
  // A tenant's own words stay.
  for (const char* kept :
       {"project \"acme\" no longer exists", "telegram destination failed: chat not found",
        "part 1/3 sent", "pg_dump timed out after 20s"}) {
    EXPECT_EQ(hide_internals(kept), kept);
  }
}

}  // namespace
}  // namespace tb::db
