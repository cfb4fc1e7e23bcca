#include "config/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace tb::config {
namespace {

Lookup from(std::map<std::string, std::string> env) {
  return [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

const std::string kSecret(32, 's');

TEST(Config, DefaultsFollowTheDesign) {
  auto c = load(from({{"JWT_SECRET", kSecret}}));
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.telegram_api_url, "https://api.telegram.org");
  EXPECT_EQ(c.telegram_part_size, 19u * 1024 * 1024);
  EXPECT_EQ(c.rate_limit_per_minute, 10);
  EXPECT_EQ(c.public_url, "http://127.0.0.1:8080");
}

TEST(Config, ShortSecretIsRefusedNamingTheVariable) {
  try {
    load(from({{"JWT_SECRET", "short"}}));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.variable(), "JWT_SECRET");
  }
}

TEST(Config, BadValuesNameTheirVariable) {
  const std::map<std::string, std::string> bad = {
      {"LISTEN", "nowhere"},          {"WORKER_CONCURRENCY", "0"},
      {"WORKER_CONCURRENCY", "two"},  {"LOG_FORMAT", "xml"},
      {"TELEGRAM_PART_SIZE", "60MiB"}, {"TELEGRAM_API_URL", "ftp://x"},
      {"SMTP_URL", "mail.example"},   {"JWT_ALGORITHM", "none"},
      {"RATE_LIMIT_PER_MINUTE", "-1"}, {"DATABASE_URL", "mysql://x"},
      {"METRICS_TOKEN", "short"},      {"METRICS_LISTEN", "nowhere"},
      {"DOWNLOAD_LINK_SECRET", "short"}};
  for (const auto& [name, value] : bad) {
    try {
      load(from({{"JWT_SECRET", kSecret}, {name, value}}));
      ADD_FAILURE() << name << "=" << value << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.variable(), name);
    }
  }
}

TEST(Config, AuthIsRequiredUnlessToldOtherwise) {
  EXPECT_THROW(load(from({})), ConfigError);
  EXPECT_NO_THROW(load(from({}), false));
}

TEST(Config, ParsesListsAndSizes) {
  auto c = load(from({{"JWT_SECRET", kSecret},
                      {"LISTEN", "0.0.0.0:0"},
                      {"TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16"},
                      {"TELEGRAM_PART_SIZE", "1MiB"}}));
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 0);
  ASSERT_EQ(c.trusted_proxies.size(), 2u);
  EXPECT_EQ(c.trusted_proxies[1], "192.168.0.0/16");
  EXPECT_EQ(c.telegram_part_size, 1024u * 1024);
}

TEST(Config, MetricsTokenAndListener) {
  auto plain = load(from({{"JWT_SECRET", kSecret}}));
  EXPECT_TRUE(plain.metrics_token.empty());
  EXPECT_FALSE(plain.metrics_port.has_value());
  auto c = load(from({{"JWT_SECRET", kSecret},
                      {"METRICS_TOKEN", "scrape-token-0123456789"},
                      {"METRICS_LISTEN", "[::1]:9464"}}));
  EXPECT_EQ(c.metrics_token, "scrape-token-0123456789");
  EXPECT_EQ(c.metrics_host, "::1");
  EXPECT_EQ(c.metrics_port, 9464);
  for (const auto& [name, value] : std::map<std::string, std::string>{
           {"METRICS_TOKEN", "has a space in it 0123456789"}, {"METRICS_LISTEN", "127.0.0.1:8080"}}) {
    try {
      load(from({{"JWT_SECRET", kSecret}, {name, value}}));
      ADD_FAILURE() << name << "=" << value << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.variable(), name);
    }
  }
}

TEST(Config, PublicKeyDeploymentsNeedADownloadLinkSecret) {
  const std::string key_file = ::testing::TempDir() + "/tb-config-test.pub";
  std::ofstream(key_file) << "-----BEGIN PUBLIC KEY-----\n";
  try {
    load(from({{"JWT_PUBLIC_KEY_FILE", key_file}}));
    ADD_FAILURE() << "an RS256 API without DOWNLOAD_LINK_SECRET was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.variable(), "DOWNLOAD_LINK_SECRET");
    EXPECT_NE(std::string(e.what()).find("every process"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(load(from({{"JWT_PUBLIC_KEY_FILE", key_file}}), false));  // worker, migrate: no links
  auto c = load(from({{"JWT_PUBLIC_KEY_FILE", key_file}, {"DOWNLOAD_LINK_SECRET", std::string(32, 'd')}}));
  EXPECT_EQ(c.download_link_secret, std::string(32, 'd'));
  EXPECT_TRUE(load(from({{"JWT_SECRET", kSecret}})).download_link_secret.empty());  // HS256 derives one
}

TEST(Config, EveryVariableIsDocumented) {
  auto md = variables_markdown();
  for (const char* name : {"DATABASE_URL", "LISTEN", "STORAGE_DIR", "JWT_SECRET", "JWT_PUBLIC_KEY_FILE",
                           "JWT_ISSUER", "JWT_AUDIENCE", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL",
                           "TELEGRAM_PART_SIZE", "SMTP_URL", "SMTP_FROM", "WORKER_CONCURRENCY",
                           "RATE_LIMIT_PER_MINUTE", "READ_RATE_LIMIT_PER_MINUTE", "TRUSTED_PROXIES",
                           "LOG_FORMAT", "METRICS_TOKEN", "METRICS_LISTEN", "DOWNLOAD_LINK_SECRET"}) {
    EXPECT_NE(md.find(std::string("`") + name + "`"), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace tb::config
