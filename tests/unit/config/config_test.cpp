#include "config/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <vector>

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
  const std::map<std::string, std::string> bad = {{"LISTEN", "nowhere"},
                                                  {"WORKER_CONCURRENCY", "0"},
                                                  {"WORKER_CONCURRENCY", "two"},
                                                  {"LOG_FORMAT", "xml"},
                                                  {"TELEGRAM_PART_SIZE", "60MiB"},
                                                  {"TELEGRAM_API_URL", "ftp://x"},
                                                  {"SMTP_URL", "mail.example"},
                                                  {"JWT_ALGORITHM", "none"},
                                                  {"RATE_LIMIT_PER_MINUTE", "-1"},
                                                  {"DATABASE_URL", "mysql://x"},
                                                  {"METRICS_TOKEN", "short"},
                                                  {"METRICS_LISTEN", "nowhere"},
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
  for (const auto& [name, value] :
       std::map<std::string, std::string>{{"METRICS_TOKEN", "has a space in it 0123456789"},
                                          {"METRICS_LISTEN", "127.0.0.1:8080"}}) {
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
  EXPECT_NO_THROW(
      load(from({{"JWT_PUBLIC_KEY_FILE", key_file}}), false));  // worker, migrate: no links
  auto c = load(
      from({{"JWT_PUBLIC_KEY_FILE", key_file}, {"DOWNLOAD_LINK_SECRET", std::string(32, 'd')}}));
  EXPECT_EQ(c.download_link_secret, std::string(32, 'd'));
  EXPECT_TRUE(
      load(from({{"JWT_SECRET", kSecret}})).download_link_secret.empty());  // HS256 derives one
}

// The S3 destination: configured by a bucket and both keys.
std::map<std::string, std::string> s3_env(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> env = {
      {"JWT_SECRET", kSecret},
      {"S3_BUCKET", "tb-backups"},
      {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
      {"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

TEST(Config, S3DefaultsAndAFullConfiguration) {
  auto none = load(from({{"JWT_SECRET", kSecret}}));
  EXPECT_FALSE(none.s3_configured());
  EXPECT_EQ(none.aws_region, "us-east-1");
  EXPECT_EQ(none.s3_part_size, 8u * 1024 * 1024);
  EXPECT_FALSE(none.s3_force_path_style);

  auto c = load(from(s3_env({{"S3_ENDPOINT", "http://127.0.0.1:7480/"},
                             {"S3_PREFIX", "/backups/prod"},
                             {"AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLE"},
                             {"AWS_REGION", "eu-west-3"},
                             {"S3_PART_SIZE", "64MiB"},
                             {"S3_FORCE_PATH_STYLE", "true"}})));
  EXPECT_TRUE(c.s3_configured());
  EXPECT_EQ(c.s3_endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(c.s3_bucket, "tb-backups");
  EXPECT_EQ(c.s3_prefix, "backups/prod/");
  EXPECT_EQ(c.aws_access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(c.aws_secret_access_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  EXPECT_EQ(c.aws_session_token, "FwoGZXIvYXdzEXAMPLE");
  EXPECT_EQ(c.aws_region, "eu-west-3");
  EXPECT_EQ(c.s3_part_size, 64u * 1024 * 1024);
  EXPECT_TRUE(c.s3_force_path_style);
  EXPECT_EQ(load(from(s3_env({{"S3_PART_SIZE", "1GiB"}}))).s3_part_size, 1024u * 1024 * 1024);
}

TEST(Config, BadS3ValuesNameTheirVariable) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"S3_ENDPOINT", "s3.example.com"},
      {"S3_BUCKET", "No_Upper"},
      {"S3_BUCKET", "ab"},
      {"S3_BUCKET", "-dash-first"},
      {"S3_PREFIX", "a/../b"},
      {"S3_PREFIX", "a//b"},
      {"S3_PREFIX", "tab\there"},
      {"AWS_ACCESS_KEY_ID", "has space"},
      {"AWS_SECRET_ACCESS_KEY", "line\nbreak"},
      {"AWS_SESSION_TOKEN", "x\r\nX-Injected: 1"},
      {"AWS_REGION", "us east"},
      {"AWS_REGION", "aws:amz"},
      {"S3_PART_SIZE", "4MiB"},
      {"S3_PART_SIZE", "6GiB"},
      {"S3_PART_SIZE", "lots"},
      {"S3_FORCE_PATH_STYLE", "maybe"}};
  for (const auto& [name, value] : bad) {
    try {
      load(from(s3_env({{name, value}})));
      ADD_FAILURE() << name << "=" << value << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.variable(), name) << e.what();
    }
  }
}

TEST(Config, PartialS3ConfigurationNamesTheMissingVariable) {
  auto missing = [](std::map<std::string, std::string> env) {
    env["JWT_SECRET"] = kSecret;
    try {
      load(from(env));
    } catch (const ConfigError& e) {
      return e.variable();
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(missing({{"S3_BUCKET", "tb-backups"}}), "AWS_ACCESS_KEY_ID");
  EXPECT_EQ(missing({{"S3_BUCKET", "tb-backups"}, {"AWS_ACCESS_KEY_ID", "AKID"}}),
            "AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(missing({{"S3_BUCKET", "tb-backups"}, {"AWS_SECRET_ACCESS_KEY", "secret"}}),
            "AWS_ACCESS_KEY_ID");
  EXPECT_EQ(missing({{"S3_ENDPOINT", "http://127.0.0.1:7480"}}), "S3_BUCKET");
  EXPECT_EQ(missing({{"S3_PREFIX", "backups"}, {"AWS_ACCESS_KEY_ID", "AKID"}}), "S3_BUCKET");
  // The standard AWS variables alone may serve other tools on the host: no S3, no error.
  EXPECT_EQ(missing({{"AWS_ACCESS_KEY_ID", "AKID"},
                     {"AWS_SECRET_ACCESS_KEY", "secret"},
                     {"AWS_REGION", "eu-west-1"}}),
            "(accepted)");
  // bucket.with.dots.s3.amazonaws.com does not match AWS's wildcard certificate.
  EXPECT_EQ(missing(s3_env({{"S3_BUCKET", "my.backups"}})), "S3_FORCE_PATH_STYLE");
  EXPECT_EQ(missing(s3_env({{"S3_BUCKET", "my.backups"}, {"S3_FORCE_PATH_STYLE", "1"}})),
            "(accepted)");
}

TEST(Config, S3SecretsAreMarkedSecretAndNeverInAnError) {
  for (const auto& v : variables()) {
    if (v.name == "AWS_SECRET_ACCESS_KEY" || v.name == "AWS_SESSION_TOKEN") {
      EXPECT_TRUE(v.secret) << v.name;
    } else if (v.name == "AWS_ACCESS_KEY_ID" || v.name == "S3_BUCKET") {
      EXPECT_FALSE(v.secret) << v.name;
    }
  }
  const std::string secret = "Sup3r/Secret+Key with space";
  try {
    load(from(s3_env({{"AWS_SECRET_ACCESS_KEY", secret}})));
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.variable(), "AWS_SECRET_ACCESS_KEY");
    EXPECT_EQ(std::string(e.what()).find("Sup3r"), std::string::npos) << e.what();
  }
}

TEST(Config, EveryVariableIsDocumented) {
  auto md = variables_markdown();
  for (const char* name : {"DATABASE_URL",
                           "LISTEN",
                           "STORAGE_DIR",
                           "JWT_SECRET",
                           "JWT_PUBLIC_KEY_FILE",
                           "JWT_ISSUER",
                           "JWT_AUDIENCE",
                           "TELEGRAM_BOT_TOKEN",
                           "TELEGRAM_API_URL",
                           "TELEGRAM_PART_SIZE",
                           "SMTP_URL",
                           "SMTP_FROM",
                           "WORKER_CONCURRENCY",
                           "RATE_LIMIT_PER_MINUTE",
                           "READ_RATE_LIMIT_PER_MINUTE",
                           "TRUSTED_PROXIES",
                           "LOG_FORMAT",
                           "METRICS_TOKEN",
                           "METRICS_LISTEN",
                           "DOWNLOAD_LINK_SECRET",
                           "S3_ENDPOINT",
                           "S3_BUCKET",
                           "S3_PREFIX",
                           "AWS_ACCESS_KEY_ID",
                           "AWS_SECRET_ACCESS_KEY",
                           "AWS_SESSION_TOKEN",
                           "AWS_REGION",
                           "S3_PART_SIZE",
                           "S3_FORCE_PATH_STYLE"}) {
    EXPECT_NE(md.find(std::string("`") + name + "`"), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace tb::config
