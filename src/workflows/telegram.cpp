#include "workflows/telegram.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>

#include "core/error.hpp"
#include "workflows/files.hpp"
#include "workflows/s3_copies.hpp"

namespace tb::workflows {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string cache_dir(const std::string& storage_dir, const std::string& backup_id) {
  return storage_dir + "/.cache/telegram/" + backup_id;
}

}  // namespace

telegram::BotOptions bot_options(const TelegramOptions& options, const std::atomic<bool>* cancel) {
  telegram::BotOptions o;
  o.api_url = options.api_url;
  o.token = options.bot_token;
  o.cancel = cancel;
  return o;
}

std::optional<json::object> telegram_location_of(const json::value& locations) {
  if (!locations.is_array()) return std::nullopt;
  for (const auto& loc : locations.as_array()) {
    if (!loc.is_object()) continue;
    auto* type = loc.as_object().if_contains("type");
    if (type && type->is_string() && type->as_string() == "telegram") return loc.as_object();
  }
  return std::nullopt;
}

std::string fetch_backup_from_telegram(const TelegramOptions& options, const store::Backup& backup,
                                       const std::string& dest_path,
                                       const std::atomic<bool>* cancel,
                                       const telegram::PartProgress& on_part) {
  auto location = telegram_location_of(backup.locations);
  if (!location) throw Error(ErrorCode::kNotFound, "this backup has no copy in Telegram");
  if (options.bot_token.empty()) {
    throw Error(ErrorCode::kNotFound,
                "the backup's Telegram copy cannot be read: TELEGRAM_BOT_TOKEN is unset");
  }
  telegram::BotApi api(bot_options(options, cancel));
  telegram::fetch_file(api, *location, backup.sha256.value_or(""), dest_path, on_part);
  return dest_path;
}

std::string telegram_cache_path(const std::string& storage_dir, const store::Backup& backup) {
  std::string name = "backup";
  if (auto location = telegram_location_of(backup.locations)) {
    if (auto* n = location->if_contains("file_name");
        n && n->is_string() && !n->as_string().empty()) {
      name = std::string(n->as_string());
    }
  } else if (auto key = live_s3_key(backup.locations)) {
    // An S3 backup fetched for a download shares this cache.
    name = key->substr(key->rfind('/') + 1);
  }
  if (name.find('/') != std::string::npos || name.starts_with(".")) name = "backup";
  return cache_dir(storage_dir, backup.id) + "/" + name;
}

void remove_telegram_cache(const std::string& storage_dir, const std::string& backup_id) {
  std::error_code ec;
  fs::remove_all(cache_dir(storage_dir, backup_id), ec);
}

json::value delete_telegram_copies(const TelegramOptions& options, const json::value& locations,
                                   const std::atomic<bool>* cancel, int* transient) {
  if (!locations.is_array()) return locations;
  json::array out;
  for (const auto& loc : locations.as_array()) {
    auto* type = loc.is_object() ? loc.as_object().if_contains("type") : nullptr;
    if (!type || !type->is_string() || type->as_string() != "telegram") {
      out.push_back(loc);
      continue;
    }
    auto o = loc.as_object();
    if (options.bot_token.empty()) {
      o["remote_remains"] = true;
      out.push_back(std::move(o));
      continue;
    }
    try {
      telegram::BotApi api(bot_options(options, cancel));
      auto r = telegram::delete_parts(api, std::move(o));
      if (transient) *transient += r.transient;
      out.push_back(std::move(r.location));
    } catch (const Cancelled&) {
      throw;
    } catch (const std::exception& e) {
      auto kept = loc.as_object();
      kept["remote_remains"] = true;
      if (transient) *transient += 1;
      spdlog::warn("telegram: deleting a backup's parts failed: {}", e.what());
      out.push_back(std::move(kept));
    }
  }
  return out;
}

json::object upload_to_telegram(const TelegramOptions& options, jobs::JobContext& ctx,
                                const TelegramUpload& upload, const json::object& progress_base) {
  if (options.bot_token.empty()) {
    throw_conflict("this server cannot send to Telegram (no Telegram bot is set up on it)");
  }
  if (upload.chat_id.empty()) {
    throw_conflict("telegram destination failed: the project has no Telegram chat id");
  }
  // Parts an earlier attempt confirmed for this very file and chat.
  std::vector<telegram::Part> confirmed;
  if (ctx.job().progress.is_object()) {
    if (auto* t = ctx.job().progress.as_object().if_contains("telegram"); t && t->is_object()) {
      const auto& to = t->as_object();
      auto* sha = to.if_contains("sha256");
      auto* chat = to.if_contains("chat_id");
      auto* parts = to.if_contains("parts");
      if (sha && sha->is_string() && sha->as_string() == upload.sha256 && chat &&
          chat->is_string() && chat->as_string() == upload.chat_id && parts && parts->is_array()) {
        for (const auto& p : parts->as_array()) {
          try {
            confirmed.push_back(telegram::part_from_json(p));
          } catch (const std::exception& e) {
            // A record we cannot read: that part is sent again.
            spdlog::warn(
                "job {}: a confirmed Telegram part's record cannot be read, it is sent again: {}",
                ctx.job().id, e.what());
          }
        }
      }
    }
  }
  if (!confirmed.empty()) {
    spdlog::info("job {}: {} Telegram part(s) confirmed by an earlier attempt are reused",
                 ctx.job().id, confirmed.size());
  }

  telegram::UploadSpec spec;
  spec.path = upload.path;
  spec.file_name = upload.file_name;
  spec.chat_id = upload.chat_id;
  spec.size = upload.size;
  spec.sha256 = upload.sha256;
  spec.part_size = options.part_size;
  spec.project_id = upload.project_id;
  spec.created_at = upload.created_at;
  const int count = telegram::part_count(spec.size, spec.part_size);

  auto report = [&](const std::vector<telegram::Part>& parts) {
    json::array arr;
    std::uint64_t bytes = 0;
    for (const auto& p : parts) {
      arr.push_back(telegram::to_json(p));
      bytes += p.size;
    }
    auto progress = progress_base;
    progress["stage"] = "telegram";
    progress["telegram"] = json::object{{"sha256", upload.sha256},
                                        {"chat_id", upload.chat_id},
                                        {"part_count", count},
                                        {"uploaded_bytes", bytes},
                                        {"parts", std::move(arr)}};
    // Unthrottled and before the next part goes out: a confirmed part that is
    // not on record would be sent again by a retry (a duplicate in the chat).
    // If it cannot be recorded, stop sending; the job is retried.
    if (!ctx.save_progress_now(std::move(progress)) && !ctx.cancel_requested()) {
      throw Error(ErrorCode::kInternal, "cannot record the progress of the Telegram upload",
                  "job " + ctx.job().id + ": progress update failed");
    }
  };
  report(confirmed);

  telegram::BotApi api(bot_options(options, &ctx.cancel_flag()));
  return telegram::upload_file(api, spec, confirmed, report);
}

}  // namespace tb::workflows
