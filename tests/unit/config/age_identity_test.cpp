// AGE_IDENTITY_FILE: a usable file is accepted; a missing, world-readable or
// malformed one stops start-up with an error naming the variable.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "age/keys.hpp"
#include "config/config.hpp"

namespace tb::config {
namespace {

namespace fs = std::filesystem;

Lookup env_with_identity(const std::string& path) {
  std::map<std::string, std::string> env = {{"JWT_SECRET", std::string(32, 's')},
                                            {"AGE_IDENTITY_FILE", path}};
  return [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

struct IdentityFile {
  std::string path =
      (fs::temp_directory_path() / ("tb-age-config-" + std::to_string(::getpid()))).string();
  explicit IdentityFile(const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
  }
  ~IdentityFile() { fs::remove(path); }
};

std::string refusal(const std::string& path) {
  try {
    load(env_with_identity(path));
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.variable(), "AGE_IDENTITY_FILE");
    return e.what();
  }
  ADD_FAILURE() << "accepted " << path;
  return {};
}

TEST(ConfigAgeIdentity, IsDocumented) {
  EXPECT_NE(variables_markdown().find("`AGE_IDENTITY_FILE`"), std::string::npos);
}

TEST(ConfigAgeIdentity, UnsetMeansNoIdentity) {
  auto c = load(env_with_identity(""));
  EXPECT_TRUE(c.age_identity_file.empty());
}

TEST(ConfigAgeIdentity, PrivateFileIsAccepted) {
  IdentityFile f(to_string(age::generate_identity()) + "\n", 0600);
  EXPECT_EQ(load(env_with_identity(f.path)).age_identity_file, f.path);
}

TEST(ConfigAgeIdentity, WorldReadableFileStopsStartUp) {
  IdentityFile f(to_string(age::generate_identity()) + "\n", 0644);
  auto message = refusal(f.path);
  EXPECT_NE(message.find(f.path), std::string::npos) << message;
  EXPECT_NE(message.find("chmod 600"), std::string::npos) << message;
}

TEST(ConfigAgeIdentity, MissingOrMalformedFileStopsStartUp) {
  EXPECT_NE(refusal("/nonexistent/identity.txt").find("does not exist"), std::string::npos);
  IdentityFile f("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj\n", 0600);
  EXPECT_NE(refusal(f.path).find("line 1"), std::string::npos);
}

}  // namespace
}  // namespace tb::config
