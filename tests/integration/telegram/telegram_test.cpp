// The Bot API client and the part layout against the fake Bot API server
// (tests/support/fake_telegram.py) over real sockets: parts that concatenate
// to the recorded SHA-256, faults (429 with retry_after, 500, reset,
// truncated reply, hang, permanent 400/401), resume without re-sending
// confirmed parts, fetch back with verification, delete with refusal, and
// size caps on replies and downloaded parts (an endless body is cut off).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "core/error.hpp"
#include "io/hash.hpp"
#include "io/sink.hpp"
#include "support/fake_telegram.hpp"
#include "support/pg_cluster.hpp"
#include "telegram/bot_api.hpp"
#include "telegram/parts.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

std::string sha256_hex(const std::string& data) {
  io::NullSink null;
  io::Sha256 h(null);
  h.write(std::as_bytes(std::span<const char>(data.data(), data.size())));
  h.finish();
  return h.hex();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class TelegramTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fake_ = new FakeTelegram(); }
  static void TearDownTestSuite() {
    delete fake_;
    fake_ = nullptr;
  }
  void SetUp() override {
    fake_->reset();
    dir_ = make_temp_dir("tb-telegram-test");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A fresh pacer per test (interval 1 s as in production unless said).
  telegram::BotApi api(std::chrono::milliseconds pace = 0ms, std::string token = {}) {
    pacer_ = std::make_unique<telegram::ChatPacer>(RealClock::instance(), pace);
    telegram::BotOptions o;
    o.api_url = fake_->url();
    o.token = token.empty() ? fake_->token() : token;
    o.backoff_base = 50ms;
    o.idle_timeout = 1s;
    o.pacer = pacer_.get();
    o.jitter = [] { return 0.5; };
    return telegram::BotApi(o);
  }

  telegram::UploadSpec spec_for(std::size_t size, std::uint64_t part_size) {
    std::string data(size, '\0');
    std::mt19937 rng(static_cast<unsigned>(size));
    for (auto& c : data) c = static_cast<char>(rng());
    std::string path = dir_ + "/acme-2026.sql.zst";
    std::ofstream(path, std::ios::binary) << data;
    telegram::UploadSpec s;
    s.path = path;
    s.file_name = "acme-2026.sql.zst";
    s.chat_id = "-100123";
    s.size = size;
    s.sha256 = sha256_hex(data);
    s.part_size = part_size;
    s.project_id = "acme";
    s.created_at = std::chrono::system_clock::now();
    data_ = data;
    return s;
  }

  static FakeTelegram* fake_;
  std::string dir_;
  std::string data_;
  std::unique_ptr<telegram::ChatPacer> pacer_;
};
FakeTelegram* TelegramTest::fake_ = nullptr;

TEST(TelegramParts, NamesAndCounts) {
  EXPECT_EQ(telegram::part_name("a.sql.zst", 2, 5), "a.sql.zst.part002of005");
  EXPECT_EQ(telegram::part_count(0, 10), 1);
  EXPECT_EQ(telegram::part_count(10, 10), 1);
  EXPECT_EQ(telegram::part_count(11, 10), 2);
  EXPECT_EQ(telegram::part_count(45ull << 20, 19ull << 20), 3);
}

TEST(TelegramParts, PacerSpacesMessagesPerChat) {
  ManualClock clock;
  telegram::ChatPacer pacer(clock, 1s);
  EXPECT_EQ(pacer.reserve("a"), 0ms);
  EXPECT_EQ(pacer.reserve("a"), 1000ms);
  EXPECT_EQ(pacer.reserve("b"), 0ms);  // another chat is not held back
  clock.advance(1500ms);
  EXPECT_EQ(pacer.reserve("a"), 500ms);
  clock.advance(5s);
  EXPECT_EQ(pacer.reserve("a"), 0ms);
}

TEST_F(TelegramTest, UploadsPartsThatConcatenateToTheBackupAndFetchesThemBack) {
  auto spec = spec_for(2'500'000, 1 << 20);
  auto bot = api(1000ms);
  std::vector<std::size_t> reported;
  auto t0 = std::chrono::steady_clock::now();
  auto location = telegram::upload_file(
      bot, spec, {}, [&](const auto& parts) { reported.push_back(parts.size()); });
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, 1900ms) << "at most one message per second per chat";
  EXPECT_EQ(reported, (std::vector<std::size_t>{1, 2, 3}));

  EXPECT_EQ(location.at("type"), "telegram");
  EXPECT_EQ(location.at("sha256").as_string(), spec.sha256);
  const auto& parts = location.at("parts").as_array();
  ASSERT_EQ(parts.size(), 3u);
  auto st = fake_->state();
  const auto& msgs = st.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 3u);
  std::string joined;
  for (std::size_t i = 0; i < 3; ++i) {
    auto p = telegram::part_from_json(parts[i]);
    const auto& m = msgs[i].as_object();
    EXPECT_EQ(p.file_name, "acme-2026.sql.zst.part00" + std::to_string(i + 1) + "of003");
    EXPECT_EQ(m.at("file_name").as_string(), p.file_name);
    EXPECT_EQ(m.at("file_id").as_string(), p.file_id);
    EXPECT_EQ(m.at("message_id").as_int64(), p.message_id);
    EXPECT_EQ(m.at("sha256").as_string(), p.sha256);
    EXPECT_EQ(p.chat_id, "-100123");
    EXPECT_FALSE(p.file_unique_id.empty());
    std::string caption(m.at("caption").as_string());
    EXPECT_NE(caption.find("acme"), std::string::npos);
    EXPECT_NE(caption.find(spec.sha256), std::string::npos);
    EXPECT_NE(caption.find("Part " + std::to_string(i + 1) + "/3"), std::string::npos);
    joined += read_file(std::string(m.at("path").as_string()));
  }
  EXPECT_EQ(sha256_hex(joined), spec.sha256);
  for (const auto& c : st.at("calls").as_array()) EXPECT_FALSE(c.at("chunked").as_bool());

  std::string back = dir_ + "/back.bin";
  telegram::fetch_file(bot, location, spec.sha256, back);
  EXPECT_EQ(read_file(back), data_);
}

TEST_F(TelegramTest, HonoursRetryAfterOn429) {
  auto spec = spec_for(1000, 1 << 20);
  fake_->fault("sendDocument", "429", 1, json::object{{"retry_after", 2}});
  auto bot = api();
  auto t0 = std::chrono::steady_clock::now();
  auto location = telegram::upload_file(bot, spec, {});
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2000ms);
  auto calls = fake_->state().at("calls").as_array();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].at("status").as_int64(), 429);
  EXPECT_EQ(calls[1].at("status").as_int64(), 200);
  EXPECT_GE(calls[1].at("at").as_double() - calls[0].at("at").as_double(), 1.9);
}

TEST_F(TelegramTest, RetriesServerErrorsResetsTruncationAndHangs) {
  auto spec = spec_for(3000, 1 << 20);
  fake_->fault("sendDocument", "500");
  fake_->fault("sendDocument", "reset");
  fake_->fault("sendDocument", "truncate");
  fake_->fault("sendDocument", "hang", 1, json::object{{"seconds", 3}});
  auto bot = api();
  auto location = telegram::upload_file(bot, spec, {});
  EXPECT_EQ(location.at("parts").as_array().size(), 1u);
  auto st = fake_->state();
  EXPECT_EQ(st.at("calls").as_array().size(), 5u);
  // A truncated reply may hide a sent message: Telegram would then hold a
  // duplicate, never a gap. The part recorded is the confirmed one.
  EXPECT_EQ(st.at("messages").as_array().size(), 1u);
}

TEST_F(TelegramTest, GivesUpAfterBoundedAttempts) {
  auto spec = spec_for(100, 1 << 20);
  fake_->fault("sendDocument", "500", 10);
  auto bot = api();
  try {
    telegram::upload_file(bot, spec, {});
    FAIL() << "expected an error";
  } catch (const telegram::ApiError& e) {
    EXPECT_FALSE(e.permanent());
    EXPECT_EQ(e.error_code(), 500);
  }
  EXPECT_EQ(fake_->state().at("calls").as_array().size(), 5u);
}

TEST_F(TelegramTest, PermanentErrorsCarryTelegramsDescriptionAndNeverTheToken) {
  auto spec = spec_for(100, 1 << 20);
  fake_->fault("sendDocument", "400", 1,
               json::object{{"description", "Bad Request: chat not found"}});
  auto bot = api();
  try {
    telegram::upload_file(bot, spec, {});
    FAIL() << "expected an error";
  } catch (const telegram::ApiError& e) {
    EXPECT_TRUE(e.permanent());
    EXPECT_EQ(e.message(), "telegram destination failed: Bad Request: chat not found");
  }
  EXPECT_EQ(fake_->state().at("calls").as_array().size(), 1u) << "a 400 is not retried";

  auto wrong = api(0ms, "999:wrong-token-value");
  try {
    telegram::upload_file(wrong, spec, {});
    FAIL() << "expected an error";
  } catch (const telegram::ApiError& e) {
    EXPECT_TRUE(e.permanent());
    EXPECT_EQ(e.error_code(), 401);
    EXPECT_EQ(e.description(), "Unauthorized");
    EXPECT_EQ(std::string(e.what()).find("wrong-token-value"), std::string::npos);
    EXPECT_EQ(e.detail().find("wrong-token-value"), std::string::npos);
  }
}

TEST_F(TelegramTest, NetworkErrorsDoNotLeakTheToken) {
  telegram::BotOptions o;
  o.api_url = "http://127.0.0.1:1";  // nothing listens
  o.token = fake_->token();
  o.backoff_base = 1ms;
  o.max_attempts = 2;
  telegram::BotApi bot(o);
  try {
    bot.get_file_path("x");
    FAIL();
  } catch (const telegram::ApiError& e) {
    EXPECT_FALSE(e.permanent());
    EXPECT_EQ(std::string(e.what()).find(fake_->token()), std::string::npos);
    EXPECT_EQ(e.detail().find(fake_->token()), std::string::npos);
  }
}

TEST_F(TelegramTest, ConfirmedPartsAreNotSentAgain) {
  auto spec = spec_for(2'200'000, 1 << 20);
  auto bot = api();
  std::vector<telegram::Part> saved;
  {
    // The first attempt: parts 1 and 2 go through, part 3 fails.
    int sent = 0;
    try {
      telegram::upload_file(bot, spec, {}, [&](const auto& parts) {
        saved = parts;
        if (++sent == 2) fake_->fault("sendDocument", "400", 1);
      });
      FAIL();
    } catch (const telegram::ApiError&) {
    }
  }
  ASSERT_EQ(saved.size(), 2u);
  auto location = telegram::upload_file(bot, spec, saved);
  auto st = fake_->state();
  EXPECT_EQ(st.at("messages").as_array().size(), 3u)
      << "2 from the first attempt, 1 from the retry";
  const auto& parts = location.at("parts").as_array();
  EXPECT_EQ(telegram::part_from_json(parts[0]).message_id, saved[0].message_id);
  EXPECT_EQ(telegram::part_from_json(parts[1]).message_id, saved[1].message_id);
  std::string back = dir_ + "/back.bin";
  telegram::fetch_file(bot, location, spec.sha256, back);
  EXPECT_EQ(read_file(back), data_);
}

TEST_F(TelegramTest, FetchRefusesADamagedPartAndLeavesNoFile) {
  auto spec = spec_for(5000, 2000);
  auto bot = api();
  auto location = telegram::upload_file(bot, spec, {});
  fake_->fault("file", "corrupt", 1);
  std::string back = dir_ + "/back.bin";
  try {
    telegram::fetch_file(bot, location, spec.sha256, back);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
    EXPECT_NE(e.message().find("part 1"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(back));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1)
      << "no temporary left";
  // A truncated download is retried and then verified.
  fake_->fault("file", "truncate", 1);
  telegram::fetch_file(bot, location, spec.sha256, back);
  EXPECT_EQ(read_file(back), data_);
}

// The fake's record of an "oversize" reply, written once the client hung up.
json::object oversize_call(FakeTelegram& fake, const std::string& method) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto state = fake.state();
    for (const auto& c : state.at("calls").as_array()) {
      if (c.at("method") == method.c_str() && c.at("status") == "oversize") return c.as_object();
    }
    std::this_thread::sleep_for(50ms);
  }
  ADD_FAILURE() << "no oversize " << method << " call recorded: " << fake.log();
  return {};
}

TEST_F(TelegramTest, AnEndlessJsonReplyIsCutOffAtItsCap) {
  // 64 MiB without a Content-Length: the client stops after 1 MiB, fails
  // the call with a clear error and does not ask again.
  fake_->fault("getFile", "oversize", 1, json::object{{"bytes", 64 << 20}});
  auto bot = api();
  try {
    bot.get_file_path("any");
    FAIL() << "expected an error";
  } catch (const telegram::ApiError& e) {
    EXPECT_FALSE(e.permanent());
    EXPECT_NE(e.message().find("reply to getFile is larger than 1024 KiB"), std::string::npos)
        << e.message();
  }
  auto call = oversize_call(*fake_, "getFile");
  EXPECT_LT(call.at("sent").as_int64(), call.at("total").as_int64())
      << "the transfer was not aborted";
  int calls = 0;
  auto state = fake_->state();
  for (const auto& c : state.at("calls").as_array()) calls += c.at("method") == "getFile";
  EXPECT_EQ(calls, 1) << "an oversize reply is not asked for again";
}

TEST_F(TelegramTest, APartLongerThanRecordedIsCutOffAndNothingIsWritten) {
  auto spec = spec_for(5000, 2000);
  auto bot = api();
  auto location = telegram::upload_file(bot, spec, {});
  // The second part's real 2000 bytes, then 64 MiB more.
  fake_->fault("file", "oversize", 1, json::object{{"bytes", 64 << 20}, {"skip", 1}});
  std::string back = dir_ + "/back.bin";
  try {
    telegram::fetch_file(bot, location, spec.sha256, back);
    FAIL() << "expected an error";
  } catch (const telegram::ApiError& e) {
    EXPECT_NE(e.message().find("larger than the 2000 bytes expected"), std::string::npos)
        << e.message();
  }
  auto call = oversize_call(*fake_, "file");
  EXPECT_LT(call.at("sent").as_int64(), call.at("total").as_int64())
      << "the transfer was not aborted";
  EXPECT_FALSE(fs::exists(back));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1)
      << "no temporary left";
  // A location record that claims a part over the largest part size is refused before any download.
  auto bad = location;
  bad["parts"].as_array()[0].as_object()["size"] = telegram::kMaxPartBytes + 1;
  fake_->reset();
  EXPECT_THROW(telegram::fetch_file(bot, bad, spec.sha256, back), Error);
  EXPECT_TRUE(fake_->state().at("calls").as_array().empty());
}

TEST_F(TelegramTest, DeleteRecordsWhatTelegramRefused) {
  auto spec = spec_for(5000, 2000);
  auto bot = api();
  auto location = telegram::upload_file(bot, spec, {});
  fake_->fault("deleteMessage", "refuse_delete", 1);  // the first part is "older than 48 h"
  auto r = telegram::delete_parts(bot, location);
  EXPECT_EQ(r.deleted, 2);
  EXPECT_EQ(r.remaining, 1);
  EXPECT_TRUE(r.location.at("remote_remains").as_bool());
  EXPECT_TRUE(r.location.at("parts").as_array()[0].at("remote_remains").as_bool());
  EXPECT_EQ(fake_->state().at("deleted").as_array().size(), 2u);
  // Trying again deletes only what is left.
  auto again = telegram::delete_parts(bot, r.location);
  EXPECT_EQ(again.deleted, 1);
  EXPECT_EQ(again.remaining, 0);
  EXPECT_FALSE(again.location.contains("remote_remains"));
}

TEST_F(TelegramTest, FakeServerFollowsTheBotApiLimits) {
  // getFile refuses files over 20 MB; uploads over 50 MB get an HTML 413:
  // both are permanent for the client.
  auto spec = spec_for(21'000'000, 21'000'000);
  auto bot = api();
  auto location = telegram::upload_file(bot, spec, {});
  try {
    bot.get_file_path(std::string(location.at("parts").as_array()[0].at("file_id").as_string()));
    FAIL();
  } catch (const telegram::ApiError& e) {
    EXPECT_TRUE(e.permanent());
    EXPECT_EQ(e.description(), "Bad Request: file is too big");
  }
}

}  // namespace
}  // namespace tb::test
