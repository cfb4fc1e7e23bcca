// The web UI's files (web/ in the source tree), compiled into the binary by
// cmake/embed_assets.cmake so the page works offline from the one executable.
//
// Invariants: every file under web/ is in all_assets() exactly once, under its
// path relative to web/ with a leading "/" ("/assets/app.js"); data is the
// file's exact bytes; etag is a quoted strong validator that changes exactly
// when the bytes change. The storage is static: the views never dangle.
// This module knows no HTTP: the http/api layer serves these (with the
// Content-Security-Policy "default-src 'self'": the pages use no inline script
// or style).
#pragma once

#include <span>
#include <string_view>

namespace tb::web {

struct Asset {
  std::string_view path;          // "/index.html", "/assets/app.js", "/openapi.json"
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view data;          // the file's bytes
  std::string_view etag;          // "\"<32 hex digits of SHA-256>\""
};

// The asset served for a request path (query string already removed), or
// nullptr. Aliases: "/" → index.html, "/docs" → docs.html, "/api/openapi.json"
// → openapi.json; any other path must name a file exactly.
const Asset* find_asset(std::string_view path);

// Every embedded file, sorted by path.
std::span<const Asset> all_assets();

namespace detail {
// Defined in the generated web_assets.cpp.
std::span<const Asset> asset_table();
}  // namespace detail

}  // namespace tb::web
