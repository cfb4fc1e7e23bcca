// One tenant's standalone archive, cut out of its batch's dump.
//
//   tar   a ustar stream: the tenant's table of contents as toc.dat, then its
//         data files in the order of its entries (the order pg_restore reads
//         them in from a pipe). What `pg_dump --format=tar -n <schema>` holds,
//         but restore.sql, which pg_restore never reads.
//   sql   what pg_restore prints from a directory holding the tenant's
//         toc.dat and links to its data files: the same bytes as
//         `pg_dump --no-owner -n <schema>` (CREATE SCHEMA included).
//
// The cost is the tenant's own entries and data, not the batch's: nothing
// reads the batch's table of contents again.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "backup/export.hpp"
#include "fleet/batch_dump.hpp"
#include "io/sink.hpp"

namespace tb::fleet {

struct TenantArchiveOptions {
  std::string pg_bin_dir;  // folder of pg_restore; "" = PATH
  std::chrono::seconds timeout{std::chrono::hours(6)};
};

// Writes `schema`'s archive into `out` (not finished: its owner does that).
// Throws tb::Error kNotFound when the batch does not hold the schema.
void write_tenant_archive(const BatchDump& batch, std::string_view schema, backup::Format format,
                          io::Sink& out, const TenantArchiveOptions& options,
                          const std::atomic<bool>& cancel);

}  // namespace tb::fleet
