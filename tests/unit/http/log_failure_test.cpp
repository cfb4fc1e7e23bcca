// LogFailure: a coroutine nobody awaits that ends with an exception leaves a
// log line naming it and saying what was thrown.
#include "http/log_failure.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <stdexcept>

namespace tb::http {
namespace {

// What `f` logs through the default logger.
template <class F>
std::string logged(F f) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(out)));
  f();
  spdlog::set_default_logger(previous);
  return out.str();
}

TEST(LogFailure, LogsWhatEndedTheCoroutine) {
  auto text = logged([] {
    LogFailure{"http accept loop"}(
        std::make_exception_ptr(std::runtime_error("too many open files")));
  });
  EXPECT_NE(text.find("http accept loop ended with an exception: too many open files"),
            std::string::npos)
      << text;
}

TEST(LogFailure, LogsAnExceptionThatIsNotAStdException) {
  auto text = logged([] { LogFailure{"http session"}(std::make_exception_ptr(42)); });
  EXPECT_NE(text.find("http session ended with an exception"), std::string::npos) << text;
}

TEST(LogFailure, ANormalEndLogsNothing) {
  EXPECT_EQ(logged([] { LogFailure{"http shutdown"}(nullptr); }), "");
}

}  // namespace
}  // namespace tb::http
