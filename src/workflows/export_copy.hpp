// The local copy an export attempt made, and its record in the job's
// progress ("export"). With Telegram, the local copy is committed before the
// upload starts; a retried attempt finds it through this record and reuses
// it when it is still intact, so the Telegram parts confirmed earlier (which
// name its SHA-256) are not sent again.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.hpp"

namespace tb::workflows {

struct LocalCopy {
  std::string file_name;
  SystemTime created_at{};
  std::string sha256;
  std::uint64_t size_bytes = 0;
  std::uint64_t dump_bytes = 0;
  boost::json::value locations;  // [{"type":"local",...}]
  std::string path;              // absolute
  // The manifest counted while it was dumped (backup/manifest.hpp); null in
  // the record of an attempt made before manifests.
  boost::json::value tables = nullptr;
  // backup::to_json(CompressionLevels), with what the job asked for.
  boost::json::value levels = nullptr;
};

// The record kept under progress["export"].
boost::json::object to_progress(const LocalCopy& copy);

// The copy an earlier attempt recorded in `progress`, if it is still intact
// (same size and SHA-256). A record that no longer matches its file has that
// file removed (no backup will list it) and gives nullopt; an unreadable
// record is logged and gives nullopt.
std::optional<LocalCopy> intact_earlier_copy(const std::string& storage_dir,
                                             const boost::json::value& progress);

}  // namespace tb::workflows
