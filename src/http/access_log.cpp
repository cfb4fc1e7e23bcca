#include "http/access_log.hpp"

#include <cmath>

#include "core/log.hpp"

namespace tb::http {

void log_request(const Exchange& ex, int status, double seconds) {
  // Rounded to 10 µs: enough for a reader, and short in both formats.
  const double ms = std::round(seconds * 100000.0) / 100.0;
  log::event(log::Level::kInfo, "http_request",
             {{"method", ex.method},
              {"path", ex.log_path},
              {"status", status},
              {"duration_ms", ms},
              {"request_id", ex.request_id},
              {"client_ip", ex.client_ip},
              {"user_agent", ex.user_agent}});
}

}  // namespace tb::http
