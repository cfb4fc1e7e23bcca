#include "workflows/export_destinations.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace tb::workflows {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

void refuse_unserved(const std::vector<std::string>& destinations,
                     const ServableDestinations& server) {
  if (contains(destinations, "telegram") && !server.telegram)
    throw_validation("destinations", std::string(kNoTelegramBot));
  if (contains(destinations, "s3") && !server.s3)
    throw_validation("destinations", "S3 is not configured on this server (S3_BUCKET is unset)");
}

std::vector<std::string> export_destinations(const std::vector<std::string>& requested,
                                             const store::BackupSettings& settings,
                                             const ServableDestinations& server) {
  auto destinations = requested.empty() ? settings.destinations : requested;
  refuse_unserved(destinations, server);
  if (contains(destinations, "telegram") && !settings.telegram_chat_id) {
    throw_validation("telegram_chat_id",
                     "set the project's Telegram chat id in its backup settings first");
  }
  return destinations;
}

}  // namespace tb::workflows
