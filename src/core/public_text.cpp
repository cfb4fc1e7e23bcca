#include "core/public_text.hpp"

// Boost.Regex (header-only): std::regex makes GCC 12 warn inside <regex> under ASan at -O1.
#include <boost/regex.hpp>
#include <vector>

namespace tb {
namespace {

struct Rule {
  boost::regex pattern;
  const char* replacement;
};

const std::vector<Rule>& rules() {
  static const std::vector<Rule> all = [] {
    const auto flags = boost::regex::perl | boost::regex::icase;
    std::vector<Rule> r;
    r.push_back(
        {boost::regex(
             R"re(\b(server at|host name|host|socket|role|user|database|file|directory) "[^"]*")re",
             flags),
         R"($1 "[hidden]")"});
    r.push_back(
        {boost::regex(R"re(\b(host|hostaddr|port|user|dbname|password)=('[^']*'|\S+))re", flags),
         "$1=[hidden]"});
    r.push_back({boost::regex(R"re(\b\d{1,3}(\.\d{1,3}){3}\b)re", flags), "[hidden]"});
    r.push_back({boost::regex(R"re(\((?:[0-9a-f]*:){2,}[0-9a-f.]*\))re", flags), "([hidden])"});
    r.push_back({boost::regex(R"re(\bport \d+)re", flags), "port [hidden]"});
    r.push_back({boost::regex(R"re((^|[\s=('"])/[^\s"',;:)]+)re", flags), "$1[hidden]"});
    return r;
  }();
  return all;
}

}  // namespace

std::string hide_internals(std::string_view text) {
  std::string out(text);
  for (const auto& rule : rules()) out = boost::regex_replace(out, rule.pattern, rule.replacement);
  return out;
}

}  // namespace tb
