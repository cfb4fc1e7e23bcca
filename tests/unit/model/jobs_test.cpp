// model/jobs: every job payload round-trips through its JSON, keeps the shape
// the queue already holds, has its defaults in one place, and a payload that
// was not written by this program is refused naming the field.
#include "model/jobs.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/error.hpp"

namespace tb::model {
namespace {

namespace json = boost::json;

const std::string kBackup = "0b6f1c1e-8c8a-4c8e-9d55-2f1f0c3b7a10";

json::object obj(std::string_view text) {
  return json::parse(text).as_object();
}

template <class Payload>
std::string refused_field(const json::object& payload) {
  try {
    from_json<Payload>(payload);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation) << e.what();
    return e.field();
  }
  ADD_FAILURE() << "accepted " << json::serialize(payload);
  return "";
}

TEST(JobTypes, NamesAreTheQueuesStrings) {
  EXPECT_EQ(to_string(JobType::kExport), "export");
  EXPECT_EQ(to_string(JobType::kRestore), "restore");
  EXPECT_EQ(to_string(JobType::kTelegramSend), "telegram_send");
  EXPECT_EQ(to_string(JobType::kTelegramFetch), "telegram_fetch");
  EXPECT_EQ(to_string(JobType::kTelegramDelete), "telegram_delete");
  for (auto t : kAllJobTypes) EXPECT_EQ(parse_job_type(to_string(t)), t);
  EXPECT_FALSE(parse_job_type("telegram"));
}

TEST(BackupStatuses, RoundTripAndUnknownIsInternal) {
  for (auto s : kAllBackupStatuses) EXPECT_EQ(parse_backup_status(to_string(s)), s);
  EXPECT_EQ(to_string(BackupStatus::kExpired), "expired");
  try {
    parse_backup_status("partial");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
  }
}

TEST(ExportPayload, EmptyPayloadReadsAsTheDefaults) {
  auto p = from_json<ExportPayload>({});
  EXPECT_EQ(p.kind, "manual");
  EXPECT_EQ(p.format, "sql");
  EXPECT_EQ(p.compression, "zstd");
  EXPECT_EQ(p.compression_level, "adaptive");  // a job queued before levels existed
  EXPECT_TRUE(p.destinations.empty());
  EXPECT_FALSE(p.wants_telegram());
  EXPECT_FALSE(p.notify_email || p.storage_path || p.telegram_chat_id || p.slot);
}

TEST(ExportPayload, KeepsTheStoredShapeAndRoundTrips) {
  ExportPayload p;
  p.kind = "scheduled";
  p.format = "tar";
  p.compression = "gzip";
  p.compression_level = "9";
  p.destinations = {"local", "telegram"};
  p.notify_email = "ops@example.com";
  p.telegram_chat_id = "-100123";
  p.slot = "2024-05-01T02:00:00Z";
  auto o = to_json(p);
  EXPECT_EQ(o, obj(R"({"kind":"scheduled","format":"tar","compression":"gzip",
                       "compression_level":9,"destinations":["local","telegram"],"notify_email":"ops@example.com",
                       "telegram_chat_id":"-100123","slot":"2024-05-01T02:00:00Z"})"));
  auto back = from_json<ExportPayload>(o);
  EXPECT_EQ(to_json(back), o);
  EXPECT_TRUE(back.wants_telegram());
  EXPECT_FALSE(back.storage_path);
}

TEST(ExportPayload, UnknownFieldsAreIgnoredKnownOnesChecked) {
  EXPECT_EQ(from_json<ExportPayload>(obj(R"({"format":"sql","added_later":1})")).format, "sql");
  EXPECT_EQ(refused_field<ExportPayload>(obj(R"({"format":"xml"})")), "format");
  EXPECT_EQ(refused_field<ExportPayload>(obj(R"({"compression":7})")), "compression");
  EXPECT_EQ(refused_field<ExportPayload>(obj(R"({"kind":"weekly"})")), "kind");
  EXPECT_EQ(refused_field<ExportPayload>(obj(R"({"compression_level":"max"})")),
            "compression_level");
  EXPECT_EQ(refused_field<ExportPayload>(obj(R"({"compression":"gzip","compression_level":15})")),
            "compression_level");
  EXPECT_EQ(refused_field<ExportPayload>(obj(R"({"destinations":"telegram"})")), "destinations");
  EXPECT_EQ(refused_field<ExportPayload>(obj(R"({"destinations":["ftp"]})")), "destinations");
  EXPECT_TRUE(from_json<ExportPayload>(obj(R"({"destinations":["s3"]})")).wants("s3"));
  EXPECT_EQ(refused_field<ExportPayload>(obj(R"({"storage_path":["a"]})")), "storage_path");
}

TEST(BackupPayloads, RoundTripAndRequireABackupId) {
  RestorePayload r{kBackup, "alice"};
  EXPECT_EQ(to_json(r), obj(R"({"backup_id":")" + kBackup + R"(","requested_by":"alice"})"));
  EXPECT_EQ(from_json<RestorePayload>(to_json(r)).requested_by, "alice");

  TelegramSendPayload s{kBackup, "-100123"};
  EXPECT_EQ(from_json<TelegramSendPayload>(to_json(s)).telegram_chat_id, "-100123");
  EXPECT_EQ(to_json(TelegramSendPayload{kBackup, std::nullopt}),
            obj(R"({"backup_id":")" + kBackup + R"("})"));
  EXPECT_EQ(from_json<TelegramFetchPayload>(to_json(TelegramFetchPayload{kBackup})).backup_id,
            kBackup);
  EXPECT_EQ(from_json<TelegramDeletePayload>(to_json(TelegramDeletePayload{kBackup})).backup_id,
            kBackup);

  EXPECT_EQ(refused_field<RestorePayload>({}), "backup_id");
  EXPECT_EQ(refused_field<TelegramSendPayload>(obj(R"({"backup_id":7})")), "backup_id");
  EXPECT_EQ(refused_field<TelegramFetchPayload>(obj(R"({"backup_id":"../etc"})")), "backup_id");
  EXPECT_EQ(refused_field<TelegramDeletePayload>(obj(R"({"backup_id":""})")), "backup_id");
}

}  // namespace
}  // namespace tb::model
