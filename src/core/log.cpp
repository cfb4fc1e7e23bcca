#include "core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <ctime>
#include <mutex>

#include "core/text.hpp"
#include "core/text_escape.hpp"

namespace tb::log {
namespace {

namespace json = boost::json;

std::mutex g_secrets_mutex;
std::vector<std::string> g_secrets;
std::atomic<Format> g_format{Format::kText};

// The fields of the JSON event() call being formatted on this thread. The
// logger's sink is synchronous, so the formatter runs inside that call, on its
// thread.
thread_local const json::object* t_fields = nullptr;

bool reserved(std::string_view key) {
  return key == "ts" || key == "level" || key == "msg";
}

// Strings anywhere in `v` become valid UTF-8 (Boost.JSON writes bytes as they
// are, and a strict reader refuses a line with an invalid sequence).
json::value valid(const json::value& v) {
  if (v.is_string()) return json::string(to_valid_utf8(v.as_string()));
  if (v.is_array()) {
    json::array out;
    for (const auto& item : v.as_array()) out.push_back(valid(item));
    return out;
  }
  if (v.is_object()) {
    json::object out;
    for (const auto& [k, item] : v.as_object()) out[to_valid_utf8(k)] = valid(item);
    return out;
  }
  return v;
}

// logfmt: bare when the value is plain, else quoted with escapes, so a value
// can neither end the line nor pass itself off as another key=value.
std::string logfmt_value(const json::value& v) {
  std::string text;
  if (v.is_string()) {
    text = std::string(v.as_string());
  } else if (v.is_double()) {
    text = fmt::format("{}", v.as_double());
  } else {
    text = json::serialize(v);
  }
  std::string escaped = escape_field(text);
  if (!text.empty() && escaped == text && text.find_first_of(" \"=") == std::string::npos)
    return text;
  std::string out = "\"";
  for (char c : escaped) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(Format format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string ts = timestamp(msg.time);
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string_view text(msg.payload.data(), msg.payload.size());
    std::string line;
    if (format_ == Format::kJson) {
      json::object o;
      o["ts"] = ts;
      o["level"] = std::string_view(level.data(), level.size());
      o["msg"] = to_valid_utf8(text);
      if (t_fields != nullptr) {
        for (const auto& [k, v] : *t_fields) {
          if (!reserved(k)) o[k] = valid(v);
        }
      }
      line = json::serialize(o);
    } else {
      line = ts + " " + std::string(level.data(), level.size()) + " " + escape_controls(text);
    }
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(format_);
  }

 private:
  static std::string timestamp(spdlog::log_clock::time_point tp) {
    const auto t = spdlog::log_clock::to_time_t(tp);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:03}Z", std::string_view(buf, n), ms);
  }

  Format format_;
};

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void init(Format format, std::string_view level) {
  spdlog::drop("tb");  // a second init (tests) replaces the first
  auto logger = spdlog::stderr_logger_mt("tb");
  logger->set_formatter(std::make_unique<LineFormatter>(format));
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  g_format = format;
}

Format format() {
  return g_format.load();
}

void event(Level level, std::string_view msg, const boost::json::object& fields) {
  auto* logger = spdlog::default_logger_raw();
  const auto lvl = to_spdlog(level);
  if (!logger->should_log(lvl)) return;
  if (format() == Format::kJson) {
    t_fields = &fields;
    logger->log(lvl, "{}", msg);
    t_fields = nullptr;
    return;
  }
  // Text: the fields join the message, already escaped (escape_controls then
  // leaves them as they are).
  std::string line(msg);
  for (const auto& [k, v] : fields) line += " " + escape_controls(k) + "=" + logfmt_value(v);
  logger->log(lvl, "{}", line);
}

void register_secret(std::string secret) {
  if (secret.size() < 4) return;
  std::lock_guard lock(g_secrets_mutex);
  g_secrets.push_back(std::move(secret));
}

std::string redact(std::string_view text) {
  std::string out(text);
  std::lock_guard lock(g_secrets_mutex);
  for (const auto& s : g_secrets) out = replace_all(std::move(out), s, "***");
  return out;
}

std::string redact(std::string_view text, std::string_view secret) {
  return redact(replace_all(std::string(text), secret, "***"));
}

}  // namespace tb::log
