#include "archive/toc.hpp"

#include <limits>

#include "core/error.hpp"

namespace tb::archive {
namespace {

constexpr std::string_view kMagic = "PGDMP";

[[noreturn]] void malformed(std::size_t offset, const std::string& what) {
  throw Error(ErrorCode::kInternal, "internal error",
              "pg_dump archive table of contents: " + what + " at byte " + std::to_string(offset));
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  std::uint8_t byte() {
    need(1);
    return static_cast<std::uint8_t>(bytes_[pos_++]);
  }

  std::int64_t integer() {
    const bool negative = byte() != 0;
    need(int_size_);
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < int_size_; ++i)
      value |= std::uint64_t{static_cast<std::uint8_t>(bytes_[pos_ + i])} << (8 * i);
    pos_ += int_size_;
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      malformed(pos_, "integer out of range");
    return negative ? -static_cast<std::int64_t>(value) : static_cast<std::int64_t>(value);
  }

  std::optional<std::string> string() {
    const std::int64_t length = integer();
    if (length < 0) return std::nullopt;
    need(static_cast<std::size_t>(length));
    std::string s(bytes_.substr(pos_, static_cast<std::size_t>(length)));
    pos_ += static_cast<std::size_t>(length);
    return s;
  }

  void set_int_size(std::size_t n) {
    if (n < 1 || n > 8) malformed(pos_, "unsupported integer size " + std::to_string(n));
    int_size_ = n;
  }
  std::size_t position() const { return pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  void need(std::size_t n) const {
    if (bytes_.size() - pos_ < n) malformed(pos_, "truncated");
  }

  std::string_view bytes_;
  std::size_t pos_ = 0;
  std::size_t int_size_ = 4;
};

class Writer {
 public:
  explicit Writer(std::size_t int_size) : int_size_(int_size) {}

  void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void integer(std::int64_t v) {
    byte(v < 0 ? 1 : 0);
    auto magnitude = v < 0 ? static_cast<std::uint64_t>(-v) : static_cast<std::uint64_t>(v);
    for (std::size_t i = 0; i < int_size_; ++i)
      byte(static_cast<std::uint8_t>(magnitude >> (8 * i)));
  }
  void string(const std::optional<std::string>& s) {
    if (!s) return integer(-1);
    integer(static_cast<std::int64_t>(s->size()));
    out_ += *s;
  }
  std::string take() { return std::move(out_); }

 private:
  std::size_t int_size_;
  std::string out_;
};

}  // namespace

Toc read_toc(std::string_view bytes) {
  if (bytes.substr(0, kMagic.size()) != kMagic) malformed(0, "no PGDMP signature");
  Reader in(bytes.substr(kMagic.size()));
  Toc toc;
  auto& h = toc.header;
  h.version_major = in.byte();
  h.version_minor = in.byte();
  h.version_revision = in.byte();
  if (h.version_major != 1 || h.version_minor != 14) {
    malformed(kMagic.size(), "archive version " + std::to_string(h.version_major) + "." +
                                 std::to_string(h.version_minor) +
                                 " (only 1.14, written by pg_dump 12 to 15, is supported)");
  }
  h.int_size = in.byte();
  in.set_int_size(h.int_size);
  h.offset_size = in.byte();
  h.format = in.byte();
  h.compression = in.integer();
  for (auto& field : h.created) field = in.integer();
  h.database = in.string();
  h.server_version = in.string();
  h.dump_version = in.string();

  const std::int64_t count = in.integer();
  if (count < 0) malformed(in.position(), "negative entry count");
  for (std::int64_t i = 0; i < count; ++i) {
    TocEntry e;
    e.dump_id = in.integer();
    e.has_data = in.integer() != 0;
    e.table_oid = in.string();
    e.oid = in.string();
    e.tag = in.string();
    e.desc = in.string();
    e.section = in.integer();
    e.definition = in.string();
    e.drop_statement = in.string();
    e.copy_statement = in.string();
    e.schema = in.string();
    e.tablespace = in.string();
    e.table_access_method = in.string();
    e.owner = in.string();
    e.with_oids = in.string();
    while (auto dependency = in.string()) e.dependencies.push_back(std::move(*dependency));
    e.file = in.string();
    toc.entries.push_back(std::move(e));
  }
  if (!in.at_end()) malformed(in.position() + kMagic.size(), "bytes after the last entry");
  return toc;
}

std::string write_toc(const Toc& toc) {
  const auto& h = toc.header;
  Writer out(h.int_size);
  for (char c : kMagic) out.byte(static_cast<std::uint8_t>(c));
  for (auto b :
       {h.version_major, h.version_minor, h.version_revision, h.int_size, h.offset_size, h.format})
    out.byte(b);
  out.integer(h.compression);
  for (auto field : h.created) out.integer(field);
  out.string(h.database);
  out.string(h.server_version);
  out.string(h.dump_version);
  out.integer(static_cast<std::int64_t>(toc.entries.size()));
  for (const auto& e : toc.entries) {
    out.integer(e.dump_id);
    out.integer(e.has_data ? 1 : 0);
    for (const auto* s : {&e.table_oid, &e.oid, &e.tag, &e.desc}) out.string(*s);
    out.integer(e.section);
    for (const auto* s : {&e.definition, &e.drop_statement, &e.copy_statement, &e.schema,
                          &e.tablespace, &e.table_access_method, &e.owner, &e.with_oids})
      out.string(*s);
    for (const auto& dependency : e.dependencies) out.string(dependency);
    out.string(std::nullopt);
    out.string(e.file);
  }
  return out.take();
}

}  // namespace tb::archive
