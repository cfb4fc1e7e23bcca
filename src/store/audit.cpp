#include "store/audit.hpp"

#include "core/text_escape.hpp"

namespace tb::store {

boost::json::object to_json(const AuditEntry& e) {
  boost::json::object o;
  o["id"] = e.id;
  o["project_id"] = e.project_id ? boost::json::value(*e.project_id) : nullptr;
  o["actor"] = e.actor;
  o["action"] = e.action;
  o["target"] = e.target;
  o["ip"] = e.ip;
  o["outcome"] = e.outcome;
  o["detail"] = e.detail;
  o["at"] = e.at ? boost::json::value(format_rfc3339(*e.at)) : nullptr;
  return o;
}

std::string to_text(const std::vector<AuditEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    const std::string at = e.at ? format_rfc3339(*e.at) : std::string("-");
    for (const std::string* field : {&at, &e.actor, &e.action, &e.target, &e.ip}) {
      out += escape_field(*field);
      out += '\t';
    }
    out += escape_field(e.outcome);
    out += '\n';
  }
  return out;
}

std::int64_t append_audit(db::Connection& conn, const AuditEntry& e) {
  auto r = conn.query(
      "INSERT INTO control_plane.audit_log (project_id, actor, action, target, ip, outcome, "
      "detail, at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, coalesce($8::timestamptz, now())) RETURNING id",
      e.project_id, e.actor, e.action, e.target, e.ip, e.outcome, e.detail, e.at);
  return r.int64(0, 0);
}

std::vector<AuditEntry> list_audit(db::Connection& conn, const std::string& project_id, int limit) {
  auto r = conn.query(
      "SELECT id, project_id, actor, action, target, ip, outcome, detail, at "
      "FROM control_plane.audit_log WHERE project_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
      project_id, limit);
  std::vector<AuditEntry> out;
  for (int i = 0; i < r.rows(); ++i) {
    AuditEntry e;
    e.id = r.int64(i, 0);
    e.project_id = r.opt(i, 1);
    e.actor = r.text(i, 2);
    e.action = r.text(i, 3);
    e.target = r.text(i, 4);
    e.ip = r.text(i, 5);
    e.outcome = r.text(i, 6);
    auto d = r.json(i, 7);
    if (d.is_object()) e.detail = std::move(d.as_object());
    e.at = r.time(i, 8);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace tb::store
