// store/audit: the append-only audit log of who did what to a project's
// backups, when and from where. Rows are never updated or deleted by the
// service. project_id has no foreign key on purpose: refused requests for
// unknown projects are audited too.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "db/connection.hpp"

namespace tb::store {

struct AuditEntry {
  std::int64_t id = 0;  // assigned by append_audit
  std::optional<std::string> project_id;
  std::string actor;   // token subject
  std::string action;  // e.g. "backup.export", "backup.delete", "backup.download"
  std::string target;  // e.g. a backup or job id
  std::string ip;
  std::string outcome;  // e.g. "accepted", "denied", "ok", "failed"
  boost::json::object detail;
  std::optional<SystemTime> at;  // now() when unset
};

// API shape: id, project_id, actor, action, target, ip, outcome, detail, at.
boost::json::object to_json(const AuditEntry& e);

// The text export: one line per entry, tab-separated fields at, actor,
// action, target, ip, outcome. Each field is escaped (tb::escape_field: tab,
// newline, CR, backslash and other controls), so a `sub` claim or a target
// holding a tab or a newline cannot add a column or a row;
// tb::unescape_field gives the stored text back.
std::string to_text(const std::vector<AuditEntry>& entries);

std::int64_t append_audit(db::Connection& conn, const AuditEntry& entry);
// Newest first.
std::vector<AuditEntry> list_audit(db::Connection& conn, const std::string& project_id,
                                   int limit = 100);

}  // namespace tb::store
