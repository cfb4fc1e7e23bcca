// Notice e-mails of the jobs (a backup made or failed, a verification that
// failed). A notice never fails its job: an error sending it is logged.
#pragma once

#include <string>

#include "workflows/handlers.hpp"

namespace tb::workflows {

// Sends nothing when SMTP is not configured or `to` is empty.
void notify_by_email(const Dependencies& deps, const std::string& to, const std::string& subject,
                     const std::string& text);

}  // namespace tb::workflows
