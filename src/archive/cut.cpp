#include "archive/cut.hpp"

#include <algorithm>
#include <set>

namespace tb::archive {
namespace {

bool is_schema_entry(const TocEntry& e) {
  return !e.schema && e.desc == "SCHEMA";
}

bool depends_on_any(const TocEntry& e, const std::set<std::string>& ids) {
  return std::any_of(e.dependencies.begin(), e.dependencies.end(),
                     [&](const std::string& d) { return ids.count(d) > 0; });
}

}  // namespace

Toc cut_schema(const Toc& batch, std::string_view schema) {
  std::set<std::string> every_schema_entry, this_schema_entry;
  for (const auto& e : batch.entries) {
    if (!is_schema_entry(e)) continue;
    every_schema_entry.insert(std::to_string(e.dump_id));
    if (e.tag == schema) this_schema_entry.insert(std::to_string(e.dump_id));
  }
  Toc cut{batch.header, {}};
  for (const auto& e : batch.entries) {
    bool keep = false;
    if (e.schema) {
      keep = *e.schema == schema;
    } else if (is_schema_entry(e)) {
      keep = e.tag == schema;
    } else if (depends_on_any(e, every_schema_entry)) {
      keep = depends_on_any(e, this_schema_entry);  // COMMENT / ACL on a schema
    } else {
      keep = true;  // the archive's own session and database entries
    }
    if (keep) cut.entries.push_back(e);
  }
  return cut;
}

std::vector<std::string> data_files(const Toc& toc) {
  std::vector<std::string> files;
  for (const auto& e : toc.entries) {
    if (e.has_data && e.file && !e.file->empty()) files.push_back(*e.file);
  }
  return files;
}

std::vector<std::string> schemas_of(const Toc& toc) {
  std::vector<std::string> names;
  for (const auto& e : toc.entries) {
    if (is_schema_entry(e) && e.tag) names.push_back(*e.tag);
  }
  return names;
}

}  // namespace tb::archive
