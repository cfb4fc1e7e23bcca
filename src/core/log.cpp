#include "core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace tb::log {
namespace {
std::mutex g_secrets_mutex;
std::vector<std::string> g_secrets;
}  // namespace

void init(Format format, std::string_view level) {
  auto logger = spdlog::stderr_logger_mt("tb");
  if (format == Format::kJson) {
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void register_secret(std::string secret) {
  if (secret.size() < 4) return;
  std::lock_guard lock(g_secrets_mutex);
  g_secrets.push_back(std::move(secret));
}

std::string redact(std::string_view text) {
  std::string out(text);
  std::lock_guard lock(g_secrets_mutex);
  for (const auto& s : g_secrets) {
    for (auto pos = out.find(s); pos != std::string::npos; pos = out.find(s, pos + 3)) {
      out.replace(pos, s.size(), "***");
    }
  }
  return out;
}

}  // namespace tb::log
