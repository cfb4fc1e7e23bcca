// The s3 module against a real S3 server (radosgw, SigV4 enforced), with
// boto3 as the independent reader: multipart round trips, credentials
// errors, abort, cancel, retried faults (503 SlowDown, a reset mid-part),
// streamed GET and DELETE. One server for the whole binary.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <random>
#include <thread>

#include "s3/client.hpp"
#include "s3/error.hpp"
#include "s3/multipart.hpp"
#include "s3/request.hpp"
#include "support/rgw_server.hpp"
#include "workflows/s3_copies.hpp"

namespace tb::s3 {
namespace {

using test::RgwServer;
using test::S3Tool;

constexpr std::uint64_t kMiB = 1024 * 1024;

RgwServer& server() {
  static RgwServer* s = [] {
    auto* p = new RgwServer("tb-test");
    std::printf("radosgw ready in %lld ms at %s\n", static_cast<long long>(p->start_time().count()),
                p->endpoint().c_str());
    return p;
  }();
  return *s;
}

// Stops radosgw after the last test (a function-local static would outlive gtest's output).
class RgwEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { delete &server(); }
};
[[maybe_unused]] auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new RgwEnvironment);

Options options_for(const std::string& endpoint) {
  Options o;
  o.endpoint = endpoint;
  o.bucket = server().bucket();
  o.access_key_id = RgwServer::kAccessKey;
  o.secret_access_key = RgwServer::kSecretKey;
  o.path_style = true;
  o.part_size = 5 * kMiB;
  o.parallel_parts = 3;
  o.backoff_base = std::chrono::milliseconds(50);
  o.backoff_max = std::chrono::milliseconds(500);
  return o;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s));
}

// Writes `data` in uneven slices, as a compressor would.
void write_in_slices(MultipartUpload& up, const std::string& data) {
  std::size_t at = 0, slice = 1;
  while (at < data.size()) {
    std::size_t k = std::min(data.size() - at, slice);
    up.write(bytes(data).subspan(at, k));
    at += k;
    slice = slice * 7 % 300000 + 1;
  }
}

TEST(S3, MultipartUploadReadsBackIdenticalWithAnIndependentClient) {
  Client client(options_for(server().endpoint()));
  S3Tool tool(server());
  const std::string key = "round-trip/acme-2026.sql.zst";
  const std::string data = random_bytes(16 * kMiB + 12345, 1);  // 4 parts of 5 MiB
  const std::string sha = sha256_hex(bytes(data));

  MultipartUpload up(client, key);
  up.begin({{"project", "acme"}});
  write_in_slices(up, data);
  auto done = up.complete(sha);

  EXPECT_EQ(done.size, data.size());
  EXPECT_EQ(done.parts, 4);
  EXPECT_EQ(done.sha256_key, key + ".sha256");
  auto got = tool.get(key);
  ASSERT_TRUE(got.is_object()) << "boto3 finds no object";
  EXPECT_EQ(got.at("size").to_number<std::uint64_t>(), data.size());
  EXPECT_EQ(got.at("sha256").as_string(), sha);
  EXPECT_EQ(tool.text(key + ".sha256"), sha + "  acme-2026.sql.zst\n");
  auto head = tool.head(key);
  EXPECT_EQ(head.at("metadata").at("project").as_string(), "acme");
  EXPECT_EQ(std::string(head.at("etag").as_string()), done.etag);
  EXPECT_TRUE(tool.uploads("round-trip/").empty());

  auto info = client.head(key);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, data.size());
  EXPECT_EQ(info->metadata.at("project"), "acme");
}

TEST(S3, GetStreamsTheObjectAndRemoveDeletesIt) {
  Client client(options_for(server().endpoint()));
  S3Tool tool(server());
  const std::string key =
      "get/odd name+%/../x.bin";  // percent, plus, space and dots go through encoding
  const std::string data = random_bytes(6 * kMiB + 1, 2);
  MultipartUpload up(client, key);
  up.begin();
  up.write(bytes(data));
  up.complete();
  EXPECT_TRUE(tool.get(key).is_object()) << "boto3 does not find the key under the same name";

  std::string back;
  int chunks = 0;
  auto n = client.get(key, [&](std::span<const std::byte> chunk) {
    back.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    ++chunks;
  });
  EXPECT_EQ(n, data.size());
  EXPECT_GT(chunks, 1) << "the body was not streamed";
  EXPECT_TRUE(back == data);

  client.remove(key);
  EXPECT_FALSE(client.head(key));
  EXPECT_TRUE(tool.get(key).is_null());
  EXPECT_NO_THROW(client.remove(key)) << "removing a missing object is not an error";
  try {
    client.get(key, [](std::span<const std::byte>) {});
    ADD_FAILURE() << "GET of a removed object succeeded";
  } catch (const S3Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_EQ(e.context().http_status, 404);
    EXPECT_EQ(e.context().s3_code, "NoSuchKey");
  }
}

TEST(S3, AnEmptyObjectIsUploaded) {
  Client client(options_for(server().endpoint()));
  MultipartUpload up(client, "empty/zero.bin");
  up.begin();
  auto done = up.complete(sha256_hex({}));
  EXPECT_EQ(done.size, 0u);
  auto info = client.head("empty/zero.bin");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 0u);
}

TEST(S3, AWrongSecretIsAClearErrorThatNamesNoSecretAndLeavesNoUpload) {
  auto o = options_for(server().endpoint());
  o.secret_access_key = "WRONG-secret-value-0123456789";
  o.session_token = "SESSION-token-value-abcdef";
  Client client(o);
  S3Tool tool(server());
  MultipartUpload up(client, "wrong-secret/x.bin");
  try {
    up.begin();
    ADD_FAILURE() << "a wrong secret was accepted";
  } catch (const S3Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kForbidden);
    EXPECT_EQ(e.context().http_status, 403);
    EXPECT_NE(e.message().find("S3 refused the credentials"), std::string::npos) << e.message();
    for (const std::string& text : {std::string(e.what()), e.message(), e.detail()}) {
      EXPECT_EQ(text.find("WRONG-secret"), std::string::npos) << text;
      EXPECT_EQ(text.find("SESSION-token"), std::string::npos) << text;
    }
  }
  up.abort();
  EXPECT_TRUE(tool.uploads("wrong-secret/").empty());
  EXPECT_TRUE(tool.keys("wrong-secret/").empty());
}

TEST(S3, AbortAndTheDestructorLeaveNoUploadAndNoObject) {
  Client client(options_for(server().endpoint()));
  S3Tool tool(server());
  const std::string data = random_bytes(11 * kMiB, 3);
  {
    MultipartUpload up(client, "abort/explicit.bin");
    up.begin();
    up.write(bytes(data));  // two parts sent
    EXPECT_EQ(tool.uploads("abort/").size(), 1u);
    up.abort();
    up.abort();  // idempotent
  }
  {
    MultipartUpload up(client, "abort/destructor.bin");
    up.begin();
    up.write(bytes(data));
  }
  EXPECT_TRUE(tool.uploads("abort/").empty());
  EXPECT_TRUE(tool.keys("abort/").empty());
}

TEST(S3, A503SlowDownOnAPartIsRetried) {
  test::FaultProxy proxy(server().port(), "slowdown", 2);
  Client client(options_for(proxy.endpoint()));
  S3Tool tool(server());
  const std::string data = random_bytes(11 * kMiB, 4);
  MultipartUpload up(client, "slowdown/x.bin");
  up.begin();
  up.write(bytes(data));
  up.complete();
  EXPECT_EQ(proxy.faults(), 2) << proxy.log();
  auto got = tool.get("slowdown/x.bin");
  ASSERT_TRUE(got.is_object());
  EXPECT_EQ(got.at("sha256").as_string(), sha256_hex(bytes(data)));
  EXPECT_TRUE(tool.uploads("slowdown/").empty());
}

TEST(S3, AConnectionResetMidPartIsRetried) {
  test::FaultProxy proxy(server().port(), "reset", 2);
  Client client(options_for(proxy.endpoint()));
  S3Tool tool(server());
  const std::string data = random_bytes(11 * kMiB, 5);
  MultipartUpload up(client, "reset/x.bin");
  up.begin();
  up.write(bytes(data));
  up.complete();
  EXPECT_EQ(proxy.faults(), 2) << proxy.log();
  auto got = tool.get("reset/x.bin");
  ASSERT_TRUE(got.is_object());
  EXPECT_EQ(got.at("size").to_number<std::uint64_t>(), data.size());
  EXPECT_EQ(got.at("sha256").as_string(), sha256_hex(bytes(data)));
}

TEST(S3, PartsThatKeepFailingFailTheUploadAndAbortIt) {
  test::FaultProxy proxy(server().port(), "slowdown", 1000);
  auto o = options_for(proxy.endpoint());
  o.max_attempts = 3;
  Client client(o);
  S3Tool tool(server());
  MultipartUpload up(client, "failing/x.bin");
  up.begin();
  try {
    up.write(bytes(random_bytes(6 * kMiB, 6)));
    up.complete();
    ADD_FAILURE() << "the upload succeeded through a server answering 503";
  } catch (const S3Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable) << e.message();
    EXPECT_EQ(e.context().s3_code, "SlowDown");
  }
  EXPECT_GE(proxy.faults(), 3);
  EXPECT_TRUE(tool.uploads("failing/").empty());
  EXPECT_TRUE(tool.keys("failing/").empty());
}

TEST(S3, CancelMidUploadAbortsIt) {
  Client client(options_for(server().endpoint()));
  S3Tool tool(server());
  std::atomic<bool> cancel{false};
  const std::string data = random_bytes(5 * kMiB, 7);
  {
    MultipartUpload up(client, "cancel/x.bin", &cancel);
    up.begin();
    up.write(bytes(data));  // part 1 on its way
    // A job is cancelled while its export streams: the next part boundary sees it.
    cancel = true;
    EXPECT_THROW(
        {
          up.write(bytes(data));
          up.complete(sha256_hex(bytes(data)));
        },
        Cancelled);
  }
  EXPECT_TRUE(tool.uploads("cancel/").empty());
  EXPECT_TRUE(tool.keys("cancel/").empty());
}

TEST(S3, ListAndAbortLeftoverUploads) {
  Client client(options_for(server().endpoint()));
  S3Tool tool(server());
  std::string id1 =
      client.create_multipart_upload("sweep/a.bin", "application/octet-stream", {}, nullptr);
  std::string id2 =
      client.create_multipart_upload("sweep/b.bin", "application/octet-stream", {}, nullptr);
  auto uploads = client.list_multipart_uploads("sweep/");
  ASSERT_EQ(uploads.size(), 2u);
  for (const auto& u : uploads) client.abort_multipart_upload(u.key, u.upload_id);
  EXPECT_TRUE(client.list_multipart_uploads("sweep/").empty());
  EXPECT_TRUE(tool.uploads("sweep/").empty());
  EXPECT_NO_THROW(client.abort_multipart_upload("sweep/a.bin", id1))
      << "aborting twice is not an error";
}

// What the service's sweep does with the bucket (workflows/s3_copies).
workflows::S3Options service_options(const std::string& prefix) {
  workflows::S3Options o;
  o.configured = true;
  o.client = options_for(server().endpoint());
  o.prefix = prefix;
  o.stale_upload_grace = std::chrono::hours(1);
  return o;
}

TEST(S3Sweep, AnUploadOlderThanTheGraceIsAbortedAYoungOneKept) {
  const auto o = service_options("sweep/");
  Client client(o.client);
  S3Tool tool(server());
  MultipartUpload up(client, "sweep/acme/dead-export.sql.zst");
  up.begin();
  MultipartUpload other(client, "elsewhere/acme/x.sql.zst");  // another prefix: never touched
  other.begin();
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(workflows::abort_stale_s3_uploads(o, now), 0);
  EXPECT_EQ(tool.uploads("sweep/").size(), 1u);
  EXPECT_EQ(workflows::abort_stale_s3_uploads(o, now + std::chrono::hours(2)), 1);
  EXPECT_TRUE(tool.uploads("sweep/").empty());
  EXPECT_EQ(tool.uploads("elsewhere/").size(), 1u);
}

TEST(S3Sweep, ARefusedDeleteIsRecordedAndTheRetryRemovesObjectAndSidecar) {
  const auto o = service_options("delete/");
  Client client(o.client);
  S3Tool tool(server());
  const std::string key = "delete/acme/b.sql.zst";
  client.put(key, bytes(std::string("dump")), "application/zstd");
  client.put(sha256_sidecar_key(key), bytes(std::string("x  b.sql.zst\n")), "text/plain");
  const boost::json::value locations = boost::json::array{
      boost::json::object{{"type", "local"}, {"path", "acme/b.sql.zst"}},
      boost::json::object{{"type", "s3"}, {"bucket", server().bucket()}, {"key", key}}};
  auto refusing = o;
  refusing.client.secret_access_key = "wrong-secret-0123456789";
  auto kept = workflows::delete_s3_copies(refusing, locations, 1);
  auto loc = workflows::s3_location_of(kept);
  ASSERT_TRUE(loc);
  EXPECT_TRUE(loc->at("remote_remains").as_bool()) << boost::json::serialize(kept);
  EXPECT_FALSE(tool.head(key).is_null());
  EXPECT_EQ(kept.as_array()[0], locations.as_array()[0]) << "other locations are left alone";

  auto gone = workflows::delete_s3_copies(o, kept);
  loc = workflows::s3_location_of(gone);
  ASSERT_TRUE(loc);
  EXPECT_TRUE(loc->at("deleted").as_bool());
  EXPECT_EQ(loc->if_contains("remote_remains"), nullptr);
  EXPECT_FALSE(workflows::live_s3_key(gone));
  EXPECT_TRUE(tool.head(key).is_null());
  EXPECT_TRUE(tool.head(sha256_sidecar_key(key)).is_null());
}

}  // namespace
}  // namespace tb::s3
