// A fake Telegram Bot API server for tests (tests/support/fake_telegram.py,
// run by /usr/bin/python3): sendDocument (multipart), getFile (20 MB limit),
// file downloads, deleteMessage, 401 for a wrong token, 413 over 50 MB, and
// scriptable faults (429 with retry_after, 500, 400, connection reset,
// truncated reply, hang, refused delete, corrupted download, a sendDocument
// whose reply is delayed after the document was stored).
//
// The server binds port 0 itself and prints the port, so there is no race
// for a "free" port; it exits with the test process.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "support/child_process.hpp"

namespace tb::test {

class FakeTelegram {
 public:
  explicit FakeTelegram(std::string token = "123456:TEST-token-secret-AAAA");
  ~FakeTelegram();
  FakeTelegram(const FakeTelegram&) = delete;
  FakeTelegram& operator=(const FakeTelegram&) = delete;

  const std::string& token() const { return token_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  // The next `count` calls of `method` ("sendDocument", "getFile",
  // "deleteMessage", "file" for downloads, "*") get fault `kind`. `extra`:
  // "retry_after", "seconds" (hang, delay), "description", "skip" (let that
  // many calls through first, e.g. {"skip": 1} hits the 2nd call).
  // fault("sendDocument", "delay", 1, {{"seconds", 5}}): the document is
  // stored at once but answered 5 s later.
  void fault(const std::string& method, const std::string& kind, int count = 1,
             boost::json::object extra = {});
  // {"messages":[{message_id, chat_id, file_id, file_name, caption, size, path, sha256, at}],
  //  "calls":[{method, status, at, chunked}], "deleted":[ids]}
  boost::json::object state() const;
  void reset();
  std::string log() const;

 private:
  std::string token_;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace tb::test
