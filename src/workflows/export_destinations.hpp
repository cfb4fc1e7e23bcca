// Where an export goes: the destinations asked for (or the project's saved
// ones), each checked against what this server can serve, before a job is
// queued. Shared by the API and the command line, so both refuse alike.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/settings.hpp"

namespace tb::workflows {

// What a project owner is told when they ask for Telegram and this server has
// no bot (TELEGRAM_BOT_TOKEN unset): what to do, not which variable is missing.
inline constexpr std::string_view kNoTelegramBot =
    "this server cannot send to Telegram (no Telegram bot is set up on it): remove Telegram "
    "from the destinations, or ask the server's administrator to set one up";

// What the server is configured to send to.
struct ServableDestinations {
  bool telegram = false;  // TELEGRAM_BOT_TOKEN set
  bool s3 = false;        // S3_BUCKET and both keys set
};

// VALIDATION_ERROR naming `destinations` when one of them is a destination
// this server cannot serve (the settings are refused on save with it too:
// they would make every export of the project fail).
void refuse_unserved(const std::vector<std::string>& destinations,
                     const ServableDestinations& server);

// `requested` (already validated names) or, when empty, the settings'
// destinations. Throws VALIDATION_ERROR naming the field: `destinations` for
// one the server cannot serve, `telegram_chat_id` when Telegram has no chat.
std::vector<std::string> export_destinations(const std::vector<std::string>& requested,
                                             const store::BackupSettings& settings,
                                             const ServableDestinations& server);

}  // namespace tb::workflows
