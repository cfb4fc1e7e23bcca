#include "web/assets.hpp"

#include <algorithm>

namespace tb::web {
namespace {

// The friendly URLs of the pages; everything else is served under its file name.
std::string_view canonical(std::string_view path) {
  if (path == "/" || path.empty()) return "/index.html";
  if (path == "/docs" || path == "/docs/") return "/docs.html";
  if (path == "/api/openapi.json") return "/openapi.json";
  return path;
}

}  // namespace

std::span<const Asset> all_assets() {
  return detail::asset_table();
}

const Asset* find_asset(std::string_view path) {
  const auto wanted = canonical(path);
  const auto table = detail::asset_table();
  // The generator writes the table sorted by path (byte order), so binary search.
  const auto it = std::lower_bound(table.begin(), table.end(), wanted,
                                   [](const Asset& a, std::string_view p) { return a.path < p; });
  if (it == table.end() || it->path != wanted) return nullptr;
  return &*it;
}

}  // namespace tb::web
