// The "telegram_send" job (POST /api/backups/{id}/telegram): an existing
// backup's local copy, verified against its SHA-256, is sent to the project's
// chat in parts; the completion transaction adds the Telegram location to the
// backup. A backup already in Telegram (an earlier job won) is left as it is.
#pragma once

#include "jobs/worker.hpp"
#include "workflows/handlers.hpp"

namespace tb::workflows {

jobs::JobOutcome run_telegram_send_job(const Dependencies& deps, jobs::JobContext& ctx);

}  // namespace tb::workflows
