// Where a backup goes. A Destination receives one object per begin():
// begin → write* → commit (returns the location record stored in
// backups.locations) or abort. Invariants: nothing is visible under the final
// name before commit() returns; abort() is noexcept, idempotent and removes
// everything partial; a destination destroyed without commit aborts.
// Destinations are used from one thread at a time.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <span>
#include <string>

namespace tb::destinations {

struct ObjectInfo {
  std::string project_id;
  std::string file_name;  // e.g. "acme-2026-11-24T10-00-00Z.sql.zst"; no '/'
  std::string content_type = "application/octet-stream";
};

class Destination {
 public:
  virtual ~Destination();
  virtual std::string name() const = 0;  // "local", "telegram", ...
  virtual void begin(const ObjectInfo& info) = 0;
  virtual void write(std::span<const std::byte> data) = 0;
  // Makes the object durable and visible; returns its location record, e.g.
  // {"type":"local","path":"acme/acme-...sql.zst","size":123}.
  virtual boost::json::object commit(const std::string& sha256_hex, std::uint64_t size) = 0;
  virtual void abort() noexcept = 0;
};

}  // namespace tb::destinations
