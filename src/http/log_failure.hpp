// The completion handler for a coroutine nobody awaits (the accept loop, a
// session, the shutdown drain): an exception that ended it is logged with its
// what() instead of being dropped or thrown out of io_context::run().
#pragma once

#include <exception>
#include <string_view>

namespace tb::http {

struct LogFailure {
  std::string_view what;  // "http session": names the coroutine in the log line
  void operator()(const std::exception_ptr& e) const;
};

}  // namespace tb::http
