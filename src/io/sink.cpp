#include "io/sink.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace tb::io {

Sink::~Sink() = default;

void StringSink::write(std::span<const std::byte> data) {
  data_.append(reinterpret_cast<const char*>(data.data()), data.size());
}

void FdSink::write(std::span<const std::byte> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::kInternal, "write failed",
                  "write(fd " + std::to_string(fd_) + "): " + std::strerror(errno));
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
}

void Tee::write(std::span<const std::byte> data) {
  for (Sink* s : sinks_) s->write(data);
}

void Tee::finish() {
  for (Sink* s : sinks_) s->finish();
}

}  // namespace tb::io
