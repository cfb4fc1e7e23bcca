#include "s3_e2e_fixture.hpp"

#include <cstdio>
#include <filesystem>

#include "support/pg_cluster.hpp"

namespace tb::test {

RgwServer& rgw() {
  static RgwServer* s = [] {
    auto* p = new RgwServer("tb-e2e");
    std::printf("radosgw ready in %lld ms at %s\n", static_cast<long long>(p->start_time().count()),
                p->endpoint().c_str());
    return p;
  }();
  return *s;
}

namespace {
// Stops radosgw after the last test.
class RgwEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { delete &rgw(); }
};
[[maybe_unused]] auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new RgwEnvironment);
}  // namespace

std::map<std::string, std::string> s3_env(const std::string& prefix) {
  return {{"S3_ENDPOINT", rgw().endpoint()},
          {"S3_BUCKET", rgw().bucket()},
          {"S3_PREFIX", prefix},
          {"S3_FORCE_PATH_STYLE", "true"},
          {"S3_PART_SIZE", "5MiB"},
          {"AWS_ACCESS_KEY_ID", RgwServer::kAccessKey},
          {"AWS_SECRET_ACCESS_KEY", RgwServer::kSecretKey}};
}

std::string sha256_of_file(const std::string& path) {
  auto out = run_command("sha256sum '" + path + "'");
  return out.substr(0, out.find(' '));
}

std::vector<std::string> stored_files(const std::string& dir) {
  std::vector<std::string> out;
  namespace fs = std::filesystem;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->is_directory() && it->path().filename() == ".cache") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) out.push_back(it->path().string());
  }
  return out;
}

const boost::json::object* s3_location(const boost::json::object& backup) {
  for (const auto& l : backup.at("locations").as_array()) {
    if (l.at("type") == "s3") return &l.as_object();
  }
  return nullptr;
}

}  // namespace tb::test
