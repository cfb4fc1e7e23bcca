// The audit's text export (GET /api/projects/{id}/audit?format=text) from
// stored rows whose fields a client or a tenant chose: a `sub` claim, a
// target, an address.
#include <gtest/gtest.h>

#include <sstream>

#include "core/text_escape.hpp"
#include "fixture.hpp"
#include "store/audit.hpp"

namespace tb::store::testing {
namespace {

using AuditText = StoreTest;

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, sep)) out.push_back(item);
  if (!text.empty() && text.back() == sep) out.emplace_back();
  return out;
}

TEST_F(AuditText, HostileFieldsStayInTheirRowAndColumnAndRoundTrip) {
  AuditEntry e;
  e.project_id = "p1";
  // A forged second row hidden in the actor, a forged column in the target.
  e.actor = "mallory\n2026-01-01T00:00:00Z\tadmin\tbackup.delete\tall\t10.0.0.1\tok";
  e.action = "backup.download";
  e.target = "b1\tforged-column\r\\x41\\";
  e.ip = "203.0.113.9";
  e.outcome = "ok\x1b[2K";
  append_audit(conn(), e);
  AuditEntry plain = e;
  plain.actor = "alice";
  plain.target = "b2";
  plain.outcome = "ok";
  append_audit(conn(), plain);

  const auto entries = list_audit(conn(), "p1");
  ASSERT_EQ(entries.size(), 2u);
  const std::string text = to_text(entries);
  auto lines = split(text, '\n');
  ASSERT_EQ(lines.size(), 3u) << text;  // two rows and the empty rest after the last newline
  EXPECT_EQ(lines.back(), "");
  lines.pop_back();
  for (const auto& line : lines) {
    auto fields = split(line, '\t');
    ASSERT_EQ(fields.size(), 6u) << line;
    for (const auto& f : fields) EXPECT_TRUE(unescape_field(f)) << f;
  }
  // Newest first: the plain row, then the hostile one, each field given back.
  auto hostile = split(split(text, '\n')[1], '\t');
  ASSERT_EQ(hostile.size(), 6u);
  EXPECT_EQ(unescape_field(hostile[1]), e.actor);
  EXPECT_EQ(unescape_field(hostile[2]), e.action);
  EXPECT_EQ(unescape_field(hostile[3]), e.target);
  EXPECT_EQ(unescape_field(hostile[4]), e.ip);
  EXPECT_EQ(unescape_field(hostile[5]), e.outcome);
  EXPECT_EQ(hostile[1],
            "mallory\\n2026-01-01T00:00:00Z\\tadmin\\tbackup.delete\\tall\\t10.0.0.1\\tok");
  EXPECT_EQ(hostile[3], "b1\\tforged-column\\r\\\\x41\\\\");
  EXPECT_EQ(hostile[5], "ok\\x1b[2K");
  auto first = split(split(text, '\n')[0], '\t');
  ASSERT_EQ(first.size(), 6u);
  EXPECT_EQ(first[1], "alice");
  EXPECT_EQ(first[3], "b2");
}

}  // namespace
}  // namespace tb::store::testing
