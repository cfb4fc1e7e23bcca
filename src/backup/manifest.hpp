// A backup's manifest: how many rows of each table the dump holds, counted
// from pg_dump's own output while it streams (no query of the live schema),
// so that a verification can compare a restore with what was dumped.
//
//   plain: the `COPY schema.table (cols) FROM stdin;` blocks that follow a
//          "-- Data for Name: ...; Type: TABLE DATA" header, one row per
//          line up to the `\.` line (COPY's text format escapes a newline
//          inside a value as \n, so a raw newline always ends a row).
//   tar:   the archive's NNNN.dat members hold one table's COPY data each.
//          Rows are counted per member as the archive streams (512-byte
//          headers, sizes, padding) and named at its end: by toc.dat, its
//          first member (each TABLE DATA entry names its table and file;
//          a fleet run's archives hold no restore.sql), else by restore.sql,
//          pg_dump's last member (`COPY s.t (...) FROM '$$PATH$$/NNNN.dat';`).
//
// A table's name is recorded as written after the schema, unquoted
// (`tenant_x."Mixed Case"` → `Mixed Case`, `"q""t"` → `q"t`). Memory stays
// bounded: of a line that is not data only its first bytes and its last few
// are kept.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backup/export.hpp"
#include "io/sink.hpp"

namespace tb::backup {

using Manifest = std::vector<TableRows>;

// [{"name": "...", "rows": N}, ...]
boost::json::array to_json(const Manifest& manifest);
// The stored form back; nullopt for a value that is not one (e.g. null: a
// backup made before manifests were recorded).
std::optional<Manifest> manifest_from_json(const boost::json::value& value);

// Taps the uncompressed dump: counts as it forwards every byte to `next`
// unchanged. manifest() is complete after finish().
class ManifestCounter final : public io::Sink {
 public:
  ManifestCounter(Format format, io::Sink& next);
  ~ManifestCounter() override;
  void write(std::span<const std::byte> data) override;
  void finish() override;
  const Manifest& manifest() const { return manifest_; }

  class Parser;  // one per format (manifest.cpp)

 private:
  io::Sink& next_;
  std::unique_ptr<Parser> parser_;
  Manifest manifest_;
};

// The table name of a COPY line's target, as written after the schema and
// unquoted: `COPY tenant_x."Mixed Case" (t) FROM stdin;` → "Mixed Case".
// nullopt when the line does not start with `COPY <schema>.<table> `.
std::optional<std::string> copy_table_name(std::string_view line);

}  // namespace tb::backup
