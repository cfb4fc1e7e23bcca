// A tar stream in the ustar format, written into an io::Sink as it goes
// (libarchive). pg_restore reads ustar members itself (512-byte headers with
// an octal size and a checksum; no pax extensions), so only ustar is written.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "io/sink.hpp"

namespace tb::archive {

class TarWriter {
 public:
  explicit TarWriter(io::Sink& out);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // A member holding `content`.
  void add(std::string_view name, std::string_view content);
  // A member holding the file at `path` (read in blocks; its size is taken
  // when it is opened and must not change). Checks `cancel` between blocks.
  void add_file(std::string_view name, const std::string& path, const std::atomic<bool>& cancel);
  // Writes the end-of-archive blocks (`out` is not finished: its owner does that).
  void finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace tb::archive
