#include "workflows/notice.hpp"

#include <spdlog/spdlog.h>

#include "notify/email.hpp"

namespace tb::workflows {

void notify_by_email(const Dependencies& deps, const std::string& to, const std::string& subject,
                     const std::string& text) {
  if (deps.options.smtp.url.empty() || to.empty()) return;
  try {
    notify::send_email(deps.options.smtp, {to, subject, text});
  } catch (const std::exception& e) {
    spdlog::warn("notice e-mail to {} failed: {}", to, e.what());
  }
}

}  // namespace tb::workflows
