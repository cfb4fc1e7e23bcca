#include "http/log_failure.hpp"

#include <spdlog/spdlog.h>

#include "core/log.hpp"

namespace tb::http {

void LogFailure::operator()(const std::exception_ptr& e) const {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("{} ended with an exception: {}", what, log::redact(x.what()));
  } catch (...) {
    spdlog::error("{} ended with an exception that is not a std::exception", what);
  }
}

}  // namespace tb::http
