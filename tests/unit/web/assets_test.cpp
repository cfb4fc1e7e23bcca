// The embedded UI: every file under web/ is in the binary, byte for byte, under
// the right path and content type, and the page URLs resolve to the pages.
#include "web/assets.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace tb::web {
namespace {

namespace fs = std::filesystem;

fs::path web_dir() {
  // ctest sets TB_SOURCE_DIR; run by hand, find web/ from this file's path.
  const char* src = std::getenv("TB_SOURCE_DIR");
  if (src != nullptr) return fs::path(src) / "web";
  return fs::path(__FILE__).parent_path() / "../../../web";
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(WebAssets, PageUrlsResolveToThePages) {
  const Asset* root = find_asset("/");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->path, "/index.html");
  EXPECT_EQ(root->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(find_asset("/index.html"), root);

  const Asset* docs = find_asset("/docs");
  ASSERT_NE(docs, nullptr);
  EXPECT_EQ(docs->path, "/docs.html");

  const Asset* spec = find_asset("/api/openapi.json");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->content_type, "application/json");
}

TEST(WebAssets, ContentTypesFollowTheExtension) {
  const Asset* js = find_asset("/assets/app.js");
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  const Asset* css = find_asset("/assets/app.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
}

TEST(WebAssets, UnknownPathsAreNotFound) {
  EXPECT_EQ(find_asset("/nope.js"), nullptr);
  EXPECT_EQ(find_asset("/assets/"), nullptr);
  EXPECT_EQ(find_asset("/assets/../index.html"), nullptr);
  EXPECT_EQ(find_asset("index.html"), nullptr);  // paths start with "/"
  EXPECT_EQ(find_asset("/INDEX.HTML"), nullptr);
}

TEST(WebAssets, EveryFileUnderWebIsEmbeddedByteForByte) {
  std::set<std::string> on_disk;
  for (const auto& entry : fs::recursive_directory_iterator(web_dir())) {
    if (!entry.is_regular_file()) continue;
    const auto rel = "/" + fs::relative(entry.path(), web_dir()).generic_string();
    on_disk.insert(rel);
    const Asset* a = find_asset(rel);
    ASSERT_NE(a, nullptr) << rel << " is not embedded (rebuild after adding files?)";
    // EXPECT_TRUE, not EXPECT_EQ: a mismatch names the file instead of printing it whole.
    EXPECT_TRUE(a->data == read_file(entry.path()))
        << rel << " differs from the embedded copy (stale build?)";
  }
  std::set<std::string> embedded;
  for (const auto& a : all_assets()) embedded.insert(std::string(a.path));
  EXPECT_EQ(embedded, on_disk);
  EXPECT_GE(on_disk.size(), 5u);
}

TEST(WebAssets, TableIsSortedAndEtagsAreDistinctQuotedHashes) {
  std::set<std::string_view> etags;
  std::string_view previous;
  for (const auto& a : all_assets()) {
    EXPECT_LT(previous, a.path);
    previous = a.path;
    ASSERT_EQ(a.etag.size(), 34u) << a.path;
    EXPECT_EQ(a.etag.front(), '"');
    EXPECT_EQ(a.etag.back(), '"');
    etags.insert(a.etag);
  }
  EXPECT_EQ(etags.size(), all_assets().size());
}

TEST(WebAssets, PagesUseNoInlineScriptOrStyle) {
  // The server sends Content-Security-Policy "default-src 'self'": inline code
  // would be blocked and the page would break silently.
  for (const auto& a : all_assets()) {
    if (!a.path.ends_with(".html")) continue;
    const std::string html(a.data);
    EXPECT_EQ(html.find("<style"), std::string::npos) << a.path;
    EXPECT_EQ(html.find(" style="), std::string::npos) << a.path;
    EXPECT_EQ(html.find(" onclick="), std::string::npos) << a.path;
    std::size_t pos = 0;
    while ((pos = html.find("<script", pos)) != std::string::npos) {
      const auto end = html.find('>', pos);
      EXPECT_NE(html.substr(pos, end - pos).find("src="), std::string::npos)
          << a.path << ": inline <script> at " << pos;
      pos = end;
    }
    // Works offline: nothing is loaded from another origin.
    for (const char* external : {"src=\"http", "href=\"http", "src=\"//", "href=\"//"}) {
      EXPECT_EQ(html.find(external), std::string::npos)
          << a.path << ": external resource " << external;
    }
  }
}

TEST(WebAssets, ElementIdsAreUniqueInEachPage) {
  // The scripts find elements by id: a duplicate silently wires the wrong one.
  for (const auto& a : all_assets()) {
    if (!a.path.ends_with(".html")) continue;
    std::set<std::string> ids;
    const std::string html(a.data);
    for (std::size_t pos = html.find(" id=\""); pos != std::string::npos;
         pos = html.find(" id=\"", pos + 1)) {
      const auto start = pos + 5;
      const auto id = html.substr(start, html.find('"', start) - start);
      EXPECT_TRUE(ids.insert(id).second) << a.path << ": duplicate id \"" << id << "\"";
    }
    EXPECT_FALSE(ids.empty()) << a.path;
  }
}

TEST(WebAssets, OpenApiDescribesTheDesignRoutes) {
  const Asset* spec = find_asset("/openapi.json");
  ASSERT_NE(spec, nullptr);
  const auto doc = boost::json::parse(spec->data).as_object();
  EXPECT_TRUE(doc.at("openapi").as_string().starts_with("3."));
  const auto& paths = doc.at("paths").as_object();
  const std::pair<const char*, const char*> routes[] = {
      {"/api/projects", "get"},
      {"/api/backup/export", "post"},
      {"/api/jobs/{id}", "get"},
      {"/api/jobs/{id}/cancel", "post"},
      {"/api/backup/history", "get"},
      {"/api/backups/{id}", "get"},
      {"/api/backups/{id}", "delete"},
      {"/api/backups/{id}/download", "get"},
      {"/api/backups/{id}/download-link", "post"},
      {"/api/backups/{id}/telegram", "post"},
      {"/api/backup/restore", "post"},
      {"/api/projects/{id}/backup-settings", "get"},
      {"/api/projects/{id}/backup-settings", "put"},
      {"/api/projects/{id}/audit", "get"},
      {"/api/openapi.json", "get"},
      {"/healthz", "get"},
      {"/readyz", "get"},
      {"/metrics", "get"},
      {"/", "get"},
      {"/docs", "get"},
  };
  for (const auto& [path, method] : routes) {
    const auto* item = paths.if_contains(path);
    ASSERT_NE(item, nullptr) << path;
    const auto* op = item->as_object().if_contains(method);
    ASSERT_NE(op, nullptr) << method << " " << path;
    EXPECT_TRUE(op->as_object().contains("responses")) << method << " " << path;
    EXPECT_TRUE(op->as_object().contains("summary")) << method << " " << path;
  }
}

}  // namespace
}  // namespace tb::web
