#include "support/log_line.hpp"

#include <string_view>

namespace tb::test {

bool starts_like_a_log_line(const std::string& line) {
  static constexpr std::string_view kShape = "0000-00-00T00:00:00.000Z ";
  if (line.size() < kShape.size()) return false;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = line[i] >= '0' && line[i] <= '9';
    if (kShape[i] == '0' ? !digit : line[i] != kShape[i]) return false;
  }
  for (std::string_view level : {"debug ", "info ", "warning ", "error ", "critical "}) {
    if (line.compare(kShape.size(), level.size(), level) == 0) {
      return line.size() > kShape.size() + level.size();
    }
  }
  return false;
}

}  // namespace tb::test
