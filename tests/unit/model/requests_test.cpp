#include "model/requests.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "model/json_body.hpp"

namespace tb::model {
namespace {

// The field named by the VALIDATION_ERROR that `fn` throws.
template <typename Fn>
std::string refused_field(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation) << e.what();
    return e.field();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

TEST(ExportRequest, DefaultsFollowTheDesign) {
  auto r = parse_export_request(R"({"project_id":"acme"})");
  EXPECT_EQ(r.project_id, "acme");
  EXPECT_EQ(r.format, "sql");
  EXPECT_EQ(r.compression, "zstd");
  EXPECT_TRUE(r.destinations.empty());
  EXPECT_FALSE(r.notify_email);
}

TEST(ExportRequest, ReadsEveryField) {
  auto r = parse_export_request(
      R"({"project_id":"a-b_1","format":"tar","compress":true,"compression":"gzip",)"
      R"("destinations":["telegram"],"notify_email":"ops@example.com","storage_path":"nightly/eu"})");
  EXPECT_EQ(r.format, "tar");
  EXPECT_EQ(r.compression, "gzip");
  EXPECT_EQ(r.destinations, (std::vector<std::string>{"local", "telegram"}));
  EXPECT_EQ(r.notify_email.value(), "ops@example.com");
  EXPECT_EQ(r.storage_path.value(), "nightly/eu");
  EXPECT_EQ(parse_export_request(R"({"project_id":"a","compress":false})").compression, "none");
}

// S3 is a copy of its own: with it, no local copy is added; Telegram alone still gets one.
TEST(ExportRequest, S3KeepsNoLocalCopyUnlessAsked) {
  using V = std::vector<std::string>;
  EXPECT_EQ(parse_export_request(R"({"project_id":"a","destinations":["s3"]})").destinations,
            V{"s3"});
  EXPECT_EQ(
      parse_export_request(R"({"project_id":"a","destinations":["s3","telegram"]})").destinations,
      (V{"s3", "telegram"}));
  EXPECT_EQ(
      parse_export_request(R"({"project_id":"a","destinations":["local","s3"]})").destinations,
      (V{"local", "s3"}));
  EXPECT_EQ(parse_export_request(R"({"project_id":"a","destinations":["telegram"]})").destinations,
            (V{"local", "telegram"}));
}

TEST(ExportRequest, RefusalsNameTheirField) {
  EXPECT_EQ(refused_field([] { parse_export_request(R"({})"); }), "project_id");
  EXPECT_EQ(refused_field([] { parse_export_request(R"({"project_id":"a;rm -rf /"})"); }),
            "project_id");
  EXPECT_EQ(refused_field([] { parse_export_request(R"({"project_id":"x' OR 1=1--"})"); }),
            "project_id");
  EXPECT_EQ(refused_field(
                [] { parse_export_request(R"({"project_id":")" + std::string(101, 'a') + "\"}"); }),
            "project_id");
  EXPECT_EQ(refused_field([] { parse_export_request(R"({"project_id":"a","format":"custom"})"); }),
            "format");
  EXPECT_EQ(refused_field([] { parse_export_request(R"({"project_id":"a","compress":"yes"})"); }),
            "compress");
  EXPECT_EQ(
      refused_field([] { parse_export_request(R"({"project_id":"a","compression":"lz4"})"); }),
      "compression");
  EXPECT_EQ(refused_field([] {
              parse_export_request(R"({"project_id":"a","compress":false,"compression":"gzip"})");
            }),
            "compression");
  EXPECT_EQ(
      refused_field([] { parse_export_request(R"({"project_id":"a","destinations":["ftp"]})"); }),
      "destinations");
  EXPECT_EQ(refused_field(
                [] { parse_export_request(R"({"project_id":"a","destinations":["s3","s3"]})"); }),
            "destinations");
  EXPECT_EQ(refused_field([] { parse_export_request(R"({"project_id":"a","destinations":[]})"); }),
            "destinations");
  EXPECT_EQ(refused_field([] {
              parse_export_request(R"({"project_id":"a","notify_email":"a@b.c\r\nBcc: x@y.z"})");
            }),
            "notify_email");
  EXPECT_EQ(refused_field([] {
              parse_export_request(R"({"project_id":"a","notify_email":"not an email"})");
            }),
            "notify_email");
  for (const char* path : {"../etc", "/abs", "a/../../b", "a//b", ".hidden", "a/$(id)", "a b"}) {
    EXPECT_EQ(
        refused_field([&] {
          parse_export_request(std::string(R"({"project_id":"a","storage_path":")") + path + "\"}");
        }),
        "storage_path")
        << path;
  }
  EXPECT_EQ(refused_field([] { parse_export_request(R"({"project_id":"a","extra":1})"); }),
            "extra");
}

TEST(JsonBody, RefusesMalformedBodies) {
  EXPECT_EQ(refused_field([] { parse_json_object("not json"); }), "body");
  EXPECT_EQ(refused_field([] { parse_json_object("[1,2]"); }), "body");
  EXPECT_EQ(refused_field([] { parse_json_object("{\"a\":\"\xff\xfe\"}"); }), "body");
  EXPECT_EQ(refused_field([] { parse_json_object(std::string(40, '[') + std::string(40, ']')); }),
            "body");
  EXPECT_EQ(refused_field([] { parse_json_object(R"({"project_id":"a","project_id":"b"})"); }),
            "project_id");
  EXPECT_EQ(refused_field([] {
              parse_export_request(R"({"project_id":"a","compress":true,"compress":false})");
            }),
            "compress");
}

TEST(JsonBody, HugeNumbersAreRangeErrors) {
  auto obj =
      parse_json_object(R"({"n": 99999999999999999999, "m": 18446744073709551615, "f": 1.5})");
  FieldReader r(obj);
  EXPECT_EQ(refused_field([&] { r.integer("n", 1, 10); }), "n");
  EXPECT_EQ(refused_field([&] { r.integer("m", 1, 10); }), "m");
  EXPECT_EQ(refused_field([&] { r.integer("f", 1, 10); }), "f");
}

TEST(Settings, UpdateKeepsAbsentFieldsAndValidates) {
  BackupSettings current;
  auto s = parse_settings_update(
      R"({"retention_days":7,"schedule":{"kind":"daily","time":"02:30"}})", current);
  EXPECT_EQ(s.retention_days, 7);
  EXPECT_EQ(s.schedule.kind, "daily");
  EXPECT_EQ(s.schedule.time, "02:30");
  EXPECT_EQ(s.format, "sql");
  EXPECT_EQ(refused_field([&] { parse_settings_update(R"({"retention_days":0})", current); }),
            "retention_days");
  EXPECT_EQ(refused_field([&] {
              parse_settings_update(R"({"schedule":{"kind":"daily","time":"25:00"}})", current);
            }),
            "schedule.time");
  EXPECT_EQ(refused_field([&] {
              parse_settings_update(R"({"schedule":{"kind":"weekly","time":"01:00","day":"xyz"}})",
                                    current);
            }),
            "schedule.day");
  EXPECT_EQ(refused_field([&] {
              parse_settings_update(R"({"schedule":{"kind":"cron","expr":"; drop"}})", current);
            }),
            "schedule.expr");
  EXPECT_EQ(refused_field([&] {
              parse_settings_update(R"({"destinations":["local","telegram"]})", current);
            }),
            "telegram_chat_id");
  EXPECT_EQ(refused_field([&] { parse_settings_update(R"({"telegram_chat_id":"abc"})", current); }),
            "telegram_chat_id");
  auto t = parse_settings_update(
      R"({"destinations":["local","telegram"],"telegram_chat_id":"-100123"})", current);
  EXPECT_EQ(t.telegram_chat_id.value(), "-100123");
  auto w =
      parse_settings_update(R"({"schedule":{"kind":"cron","expr":"*/15 2 * * 1-5"}})", current);
  EXPECT_EQ(w.schedule.expr, "*/15 2 * * 1-5");
}

TEST(Restore, NeedsABackupId) {
  EXPECT_EQ(refused_field([] { parse_restore_request(R"({"backup_id":"x"})"); }), "backup_id");
  EXPECT_EQ(
      parse_restore_request(R"({"backup_id":"123e4567-e89b-42d3-a456-426614174000"})").backup_id,
      "123e4567-e89b-42d3-a456-426614174000");
}

}  // namespace
}  // namespace tb::model
