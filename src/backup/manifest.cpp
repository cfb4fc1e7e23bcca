#include "backup/manifest.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cstring>
#include <map>
#include <utility>

#include "archive/toc.hpp"

namespace tb::backup {
namespace {

// Counts the rows of one table's COPY text data, up to its `\.` line. A row
// is a line: COPY's text format writes a newline inside a value as \n, and
// a backslash as \\, so no data line is `\.` on its own.
class CopyRows {
 public:
  // Takes bytes of the data up to and including the end line's newline;
  // returns how many it took (all of them until the end line is seen).
  std::size_t feed(std::string_view d) {
    std::size_t pos = 0;
    while (pos < d.size() && !ended_) {
      const void* nl = std::memchr(d.data() + pos, '\n', d.size() - pos);
      const std::size_t end =
          nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - d.data()) : d.size();
      const std::size_t n = end - pos;
      for (std::size_t i = 0; i < n && line_length_ + i < 2; ++i)
        first_[line_length_ + i] = d[pos + i];
      line_length_ += n;
      pos = end;
      if (!nl) break;
      ++pos;
      if (line_length_ == 2 && first_[0] == '\\' && first_[1] == '.') {
        ended_ = true;
      } else {
        ++rows_;
      }
      line_length_ = 0;
    }
    return pos;
  }
  bool ended() const { return ended_; }
  std::uint64_t rows() const { return rows_; }

 private:
  std::uint64_t rows_ = 0;
  std::uint64_t line_length_ = 0;
  std::array<char, 2> first_{};
  bool ended_ = false;
};

// Lines of SQL text, of which only the first kHead and the last kTail bytes
// are kept: enough to read a COPY line's target and how it ends, whatever
// the length of its column list or of a function body.
class TextLines {
 public:
  static constexpr std::size_t kHead = 1024;
  static constexpr std::size_t kTail = 64;

  // Takes bytes up to and including a newline; complete() then says a line
  // is ready (read it, then clear()).
  std::size_t feed(std::string_view d) {
    const void* nl = std::memchr(d.data(), '\n', d.size());
    const std::size_t n =
        nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - d.data()) : d.size();
    append(d.substr(0, n));
    if (!nl) return d.size();
    complete_ = true;
    return n + 1;
  }
  void append(std::string_view part) {
    if (head_.size() < kHead) head_.append(part.substr(0, kHead - head_.size()));
    tail_.append(part.size() > kTail ? part.substr(part.size() - kTail) : part);
    if (tail_.size() > 2 * kTail) tail_.erase(0, tail_.size() - kTail);
    length_ += part.size();
  }
  bool complete() const { return complete_; }
  bool empty() const { return length_ == 0; }
  const std::string& head() const { return head_; }
  bool ends_with(std::string_view s) const { return std::string_view(tail_).ends_with(s); }
  std::string_view tail() const { return tail_; }
  void clear() {
    head_.clear();
    tail_.clear();
    length_ = 0;
    complete_ = false;
  }

 private:
  std::string head_;
  std::string tail_;
  std::uint64_t length_ = 0;
  bool complete_ = false;
};

std::string_view as_text(std::span<const std::byte> data) {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

}  // namespace

class ManifestCounter::Parser {
 public:
  virtual ~Parser() = default;
  virtual void feed(std::string_view data) = 0;
  virtual Manifest finish() = 0;
};

namespace {

// The plain format: text, with COPY blocks in it.
class PlainParser final : public ManifestCounter::Parser {
 public:
  void feed(std::string_view d) override {
    while (!d.empty()) {
      if (copy_) {
        d.remove_prefix(copy_->feed(d));
        if (copy_->ended()) {
          tables_.push_back({table_, copy_->rows()});
          copy_.reset();
        }
        continue;
      }
      d.remove_prefix(line_.feed(d));
      if (line_.complete()) {
        on_line();
        line_.clear();
      }
    }
  }
  Manifest finish() override {
    // A dump that ends inside COPY data (pg_dump never does): what was seen.
    if (copy_) tables_.push_back({table_, copy_->rows()});
    return std::move(tables_);
  }

 private:
  // Only a COPY right after pg_dump's "TABLE DATA" header starts data: a
  // function body that happens to hold a line like it does not.
  void on_line() {
    const std::string& head = line_.head();
    if (head.starts_with("-- Data for Name: ") &&
        head.find("; Type: TABLE DATA; ") != std::string::npos) {
      data_next_ = true;
    } else if (data_next_ && head.starts_with("COPY ") && line_.ends_with(" FROM stdin;")) {
      table_ = copy_table_name(head).value_or(head.substr(5));
      copy_.emplace();
      data_next_ = false;
    } else if (!line_.empty() && !head.starts_with("--")) {
      data_next_ = false;
    }
  }

  TextLines line_;
  bool data_next_ = false;
  std::optional<CopyRows> copy_;
  std::string table_;
  Manifest tables_;
};

// The tar format: 512-byte headers, each member's bytes padded to 512, two
// zero blocks at the end.
class TarParser final : public ManifestCounter::Parser {
 public:
  void feed(std::string_view d) override {
    while (!d.empty()) {
      switch (state_) {
        case State::kHeader: {
          const std::size_t n = std::min(d.size(), header_.size() - filled_);
          std::memcpy(header_.data() + filled_, d.data(), n);
          filled_ += n;
          d.remove_prefix(n);
          if (filled_ == header_.size()) on_header();
          break;
        }
        case State::kData: {
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(d.size(), remaining_));
          on_member_bytes(d.substr(0, n));
          remaining_ -= n;
          d.remove_prefix(n);
          if (remaining_ == 0) end_member();
          break;
        }
        case State::kPadding: {
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(d.size(), remaining_));
          remaining_ -= n;
          d.remove_prefix(n);
          if (remaining_ == 0) state_ = State::kHeader;
          break;
        }
        case State::kEnd:
          return;
      }
    }
  }

  Manifest finish() override {
    if (auto from_toc = names_from_toc()) return *from_toc;
    Manifest out;
    for (const auto& [member, name] : copies_) {
      auto it = rows_.find(member);
      out.push_back({name, it == rows_.end() ? 0 : it->second});
    }
    return out;
  }

 private:
  enum class State { kHeader, kData, kPadding, kEnd };
  enum class Member { kOther, kToc, kTableData, kRestoreSql };
  // A table of contents larger than this (a schema of very many objects) is
  // not kept: restore.sql names the tables then.
  static constexpr std::size_t kMaxToc = 64 * 1024 * 1024;

  // Octal digits, or GNU's base-256 (first byte's high bit set) for sizes
  // that do not fit 11 octal digits.
  static std::uint64_t member_size(const std::array<char, 512>& h) {
    std::uint64_t v = 0;
    if (static_cast<unsigned char>(h[124]) & 0x80) {
      for (int i = 125; i < 136; ++i) v = (v << 8) | static_cast<unsigned char>(h[i]);
      return v;
    }
    for (int i = 124; i < 136; ++i) {
      if (h[i] >= '0' && h[i] <= '7') v = v * 8 + static_cast<std::uint64_t>(h[i] - '0');
    }
    return v;
  }

  void on_header() {
    filled_ = 0;
    if (std::all_of(header_.begin(), header_.end(), [](char c) { return c == 0; })) {
      state_ = State::kEnd;
      return;
    }
    const auto* nul = static_cast<const char*>(std::memchr(header_.data(), 0, 100));
    const std::string name(header_.data(),
                           nul ? static_cast<std::size_t>(nul - header_.data()) : 100);
    remaining_ = member_size(header_);
    padding_ = (512 - remaining_ % 512) % 512;
    kind_ = Member::kOther;
    if (name == "toc.dat") {
      kind_ = Member::kToc;
    } else if (name == "restore.sql") {
      kind_ = Member::kRestoreSql;
    } else if (name.ends_with(".dat") && name.size() > 4 &&
               name.find_first_not_of("0123456789") == name.size() - 4) {
      kind_ = Member::kTableData;
      member_ = name.substr(0, name.size() - 4);
      copy_ = CopyRows{};
    }
    state_ = State::kData;
    if (remaining_ == 0) end_member();
  }

  // toc.dat names each table's data member exactly (the entry's tag) and is
  // in every tar archive, also those without restore.sql (a fleet run's);
  // restore.sql is the fallback for a layout this build does not read.
  std::optional<Manifest> names_from_toc() const {
    if (toc_.empty() || toc_too_large_) return std::nullopt;
    archive::Toc toc;
    try {
      toc = archive::read_toc(toc_);
    } catch (const std::exception& e) {
      spdlog::info("manifest: toc.dat not read ({}), tables named by restore.sql", e.what());
      return std::nullopt;
    }
    Manifest out;
    for (const auto& e : toc.entries) {
      if (e.desc != "TABLE DATA" || !e.file || !e.tag || !e.file->ends_with(".dat")) continue;
      auto it = rows_.find(e.file->substr(0, e.file->size() - 4));
      out.push_back({*e.tag, it == rows_.end() ? 0 : it->second});
    }
    return out;
  }

  void on_member_bytes(std::string_view d) {
    if (kind_ == Member::kToc) {
      if (toc_.size() + d.size() > kMaxToc) {
        toc_too_large_ = true;
        toc_.clear();
      }
      if (!toc_too_large_) toc_.append(d);
    } else if (kind_ == Member::kTableData) {
      if (!copy_.ended()) copy_.feed(d);
    } else if (kind_ == Member::kRestoreSql) {
      while (!d.empty()) {
        d.remove_prefix(sql_.feed(d));
        if (sql_.complete()) {
          on_restore_line();
          sql_.clear();
        }
      }
    }
  }

  // `COPY s.t (cols) FROM '$$PATH$$/3351.dat';`: member 3351 is table t.
  void on_restore_line() {
    constexpr std::string_view kPath = "FROM '$$PATH$$/";
    if (!sql_.head().starts_with("COPY ") || !sql_.ends_with(".dat';")) return;
    const std::string_view tail = sql_.tail();
    const auto at = tail.rfind(kPath);
    if (at == std::string_view::npos) return;
    auto member = tail.substr(at + kPath.size());
    member.remove_suffix(std::string_view(".dat';").size());
    if (auto table = copy_table_name(sql_.head())) copies_.emplace_back(member, *table);
  }

  void end_member() {
    if (kind_ == Member::kTableData) rows_[member_] = copy_.rows();
    if (kind_ == Member::kRestoreSql && sql_.complete() == false && !sql_.empty()) {
      on_restore_line();  // a last line without a newline
      sql_.clear();
    }
    kind_ = Member::kOther;
    remaining_ = padding_;
    state_ = remaining_ == 0 ? State::kHeader : State::kPadding;
  }

  State state_ = State::kHeader;
  std::array<char, 512> header_{};
  std::size_t filled_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint64_t padding_ = 0;
  Member kind_ = Member::kOther;
  std::string member_;
  CopyRows copy_;
  TextLines sql_;
  std::string toc_;
  bool toc_too_large_ = false;
  std::map<std::string, std::uint64_t> rows_;                // member number → rows
  std::vector<std::pair<std::string, std::string>> copies_;  // member number, table
};

}  // namespace

std::optional<std::string> copy_table_name(std::string_view line) {
  if (!line.starts_with("COPY ")) return std::nullopt;
  std::size_t p = 5;
  // One identifier: "quoted" (with "" for a quote) or bare up to '.' or ' '.
  auto identifier = [&](std::string& out) {
    if (p < line.size() && line[p] == '"') {
      for (++p; p < line.size(); ++p) {
        if (line[p] != '"') {
          out += line[p];
        } else if (p + 1 < line.size() && line[p + 1] == '"') {
          out += '"';
          ++p;
        } else {
          ++p;
          return true;
        }
      }
      return false;
    }
    const std::size_t start = p;
    while (p < line.size() && line[p] != '.' && line[p] != ' ' && line[p] != '"') ++p;
    out = std::string(line.substr(start, p - start));
    return p > start;
  };
  std::string schema, table;
  if (!identifier(schema) || p >= line.size() || line[p] != '.') return std::nullopt;
  ++p;
  if (!identifier(table) || p >= line.size() || line[p] != ' ') return std::nullopt;
  return table;
}

ManifestCounter::ManifestCounter(Format format, io::Sink& next) : next_(next) {
  if (format == Format::kTar) {
    parser_ = std::make_unique<TarParser>();
  } else {
    parser_ = std::make_unique<PlainParser>();
  }
}

ManifestCounter::~ManifestCounter() = default;

void ManifestCounter::write(std::span<const std::byte> data) {
  parser_->feed(as_text(data));
  next_.write(data);
}

void ManifestCounter::finish() {
  manifest_ = parser_->finish();
  next_.finish();
}

boost::json::array to_json(const Manifest& manifest) {
  boost::json::array out;
  for (const auto& t : manifest)
    out.push_back(boost::json::object{{"name", t.name}, {"rows", t.rows}});
  return out;
}

std::optional<Manifest> manifest_from_json(const boost::json::value& value) {
  if (!value.is_array()) return std::nullopt;
  Manifest out;
  for (const auto& v : value.as_array()) {
    const auto* o = v.if_object();
    const auto* name = o ? o->if_contains("name") : nullptr;
    const auto* rows = o ? o->if_contains("rows") : nullptr;
    if (!name || !name->is_string() || !rows) return std::nullopt;
    std::uint64_t n = 0;
    if (rows->is_uint64()) {
      n = rows->as_uint64();
    } else if (rows->is_int64() && rows->as_int64() >= 0) {
      n = static_cast<std::uint64_t>(rows->as_int64());
    } else {
      return std::nullopt;
    }
    out.push_back({std::string(name->as_string()), n});
  }
  return out;
}

}  // namespace tb::backup
