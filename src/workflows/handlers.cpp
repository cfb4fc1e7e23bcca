#include "workflows/handlers.hpp"

#include "workflows/export_job.hpp"
#include "workflows/fleet_job.hpp"
#include "workflows/restore_job.hpp"
#include "workflows/telegram_jobs.hpp"
#include "workflows/telegram_send_job.hpp"
#include "workflows/verify_job.hpp"

namespace tb::workflows {

std::map<std::string, jobs::Handler> job_handlers(const Dependencies& deps) {
  using model::JobType;
  auto type = [](JobType t) { return std::string(model::to_string(t)); };
  return {
      {type(JobType::kExport),
       [&deps](jobs::JobContext& ctx) { return export_job_with_notice(deps, ctx); }},
      {type(JobType::kRestore),
       [&deps](jobs::JobContext& ctx) { return run_restore_job(deps, ctx); }},
      {type(JobType::kTelegramSend),
       [&deps](jobs::JobContext& ctx) { return run_telegram_send_job(deps, ctx); }},
      {type(JobType::kTelegramFetch),
       [&deps](jobs::JobContext& ctx) { return run_telegram_fetch_job(deps, ctx); }},
      {type(JobType::kTelegramDelete),
       [&deps](jobs::JobContext& ctx) { return run_telegram_delete_job(deps, ctx); }},
      {type(JobType::kFleetExport),
       [&deps](jobs::JobContext& ctx) { return run_fleet_job(deps, ctx); }},
      {type(JobType::kVerify),
       [&deps](jobs::JobContext& ctx) { return run_verify_job(deps, ctx); }},
  };
}

void job_lost_for_good(const Dependencies& deps, const store::Job& job) {
  if (job.type == model::to_string(model::JobType::kExport)) export_lost_for_good(deps, job);
}

}  // namespace tb::workflows
