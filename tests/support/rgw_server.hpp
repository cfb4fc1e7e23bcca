// A real S3 server for tests: Ceph's radosgw on a throwaway single-node
// cluster (one mon, one memstore OSD), started by tests/support/s3/rgw-up.sh
// in a temporary folder on free loopback ports, with one bucket created. It
// enforces SigV4 like AWS. One per test binary (start-up takes seconds): the
// destructor stops it (rgw-down.sh) and removes the folder; a watcher stops it
// too when the test process dies without running destructors.
//
// S3Tool runs tests/support/s3/s3_tool.py (boto3): an independent client to
// read back what the code under test wrote. FaultProxy sits in front of the
// server and breaks the first part uploads (tests/support/s3/fault_proxy.py).
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "support/child_process.hpp"

namespace tb::test {

class RgwServer {
 public:
  static constexpr const char* kAccessKey = "TBACCESS";
  static constexpr const char* kSecretKey = "TBSECRETKEY0123456789";

  explicit RgwServer(std::string bucket = "tb-test");
  ~RgwServer();
  RgwServer(const RgwServer&) = delete;
  RgwServer& operator=(const RgwServer&) = delete;

  const std::string& endpoint() const { return endpoint_; }  // http://127.0.0.1:PORT
  int port() const { return port_; }
  const std::string& bucket() const { return bucket_; }
  std::chrono::milliseconds start_time() const { return start_time_; }

 private:
  std::string dir_;
  std::string endpoint_;
  std::string bucket_;
  int port_ = 0;
  std::chrono::milliseconds start_time_{0};
};

// boto3 against `server` (path-style, the server's own keys).
class S3Tool {
 public:
  explicit S3Tool(const RgwServer& server) : server_(server) {}
  // {"size", "sha256"}; null when there is no such object.
  boost::json::value get(const std::string& key) const;
  std::string text(const std::string& key) const;
  // {"size", "etag", "metadata"}; null when missing.
  boost::json::value head(const std::string& key) const;
  // Keys of unfinished multipart uploads under `prefix`.
  std::vector<std::string> uploads(const std::string& prefix) const;
  std::vector<std::string> keys(const std::string& prefix) const;

 private:
  std::string run(const std::string& command, const std::string& arg,
                  bool* missing = nullptr) const;
  const RgwServer& server_;
};

class FaultProxy {
 public:
  // mode: "slowdown", "reset" or "none"; `count` part uploads get the fault.
  FaultProxy(int upstream_port, const std::string& mode, int count);
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Lines "FAULT <mode> <request line>" for every fault injected so far.
  int faults() const;
  std::string log() const { return process_->output(); }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace tb::test
