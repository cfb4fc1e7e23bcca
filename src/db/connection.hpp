// db: a thin, synchronous RAII wrapper over libpq.
//
// Invariants:
// - Every statement with values goes through PQexecParams with bound text
//   parameters: values are never spliced into SQL text.
// - Every session runs with TimeZone=UTC, so timestamptz values come back as
//   "YYYY-MM-DD HH:MM:SS[.ffffff]+00" and parse_timestamp() reads them exactly
//   (microsecond precision, which keyset cursors rely on).
// - Errors are classified by SQLSTATE (DbError::Kind). A lost or unreachable
//   server is ErrorCode::kUnavailable (HTTP 503); every other SQL error is
//   kInternal with the server's message as internal detail, never public.
// - Statements with parameters are prepared on a connection's first use of
//   their SQL text and executed by name afterwards (parse and plan once per
//   connection, not per call: most of a short query's server time). At most
//   kMaxPrepared texts per connection; beyond that, unnamed as before. This
//   needs a session per connection: a transaction-pooling proxy must support
//   protocol-level prepared statements (PgBouncer >= 1.21).
// - A Connection is used by one thread at a time (libpq is not thread-safe per
//   connection); share connections through db::Pool.
#pragma once

#include <libpq-fe.h>

#include <boost/json.hpp>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace tb::db {

using Params = std::vector<std::optional<std::string>>;

// A database error with its SQLSTATE. kind() is what callers branch on.
class DbError : public tb::Error {
 public:
  enum class Kind {
    kUniqueViolation,       // 23505
    kForeignKeyViolation,   // 23503
    kCheckViolation,        // 23514 / 23502 (not null)
    kSerializationFailure,  // 40001
    kDeadlock,              // 40P01
    kConnectionLost,        // class 08, 57P01-57P03, or the socket broke (kUnavailable)
    kQueryCanceled,         // 57014 (statement_timeout, pg_cancel_backend)
    kOther,
  };
  DbError(Kind kind, std::string sqlstate, std::string detail);

  Kind kind() const noexcept { return kind_; }
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  // The constraint named by the server (e.g. "jobs_idempotency_key_key"), "" if none.
  const std::string& constraint() const noexcept { return constraint_; }
  void set_constraint(std::string c) { constraint_ = std::move(c); }

 private:
  Kind kind_;
  std::string sqlstate_;
  std::string constraint_;
};

// The owned result of one statement. Values are text (libpq text format).
class Result {
 public:
  Result() = default;
  explicit Result(PGresult* res);

  int rows() const;
  int columns() const;
  bool empty() const { return rows() == 0; }
  // Rows changed by INSERT/UPDATE/DELETE (PQcmdTuples).
  std::int64_t affected() const;
  // Index of a column by name; throws kInternal when absent.
  int column(std::string_view name) const;

  bool is_null(int row, int col) const;
  std::string_view get(int row, int col) const;  // "" for NULL
  std::string text(int row, int col) const;
  std::optional<std::string> opt(int row, int col) const;
  std::int64_t int64(int row, int col) const;
  std::optional<std::int64_t> opt_int64(int row, int col) const;
  bool boolean(int row, int col) const;             // "t" / "f"
  boost::json::value json(int row, int col) const;  // json/jsonb; null for SQL NULL
  SystemTime time(int row, int col) const;          // timestamptz (session in UTC)
  std::optional<SystemTime> opt_time(int row, int col) const;

  // One value per row: `row_to(*this, row)` for each row, in order.
  template <typename RowTo>
  auto map_rows(RowTo row_to) const {
    std::vector<decltype(row_to(*this, 0))> out;
    out.reserve(static_cast<std::size_t>(rows()));
    for (int i = 0; i < rows(); ++i) out.push_back(row_to(*this, i));
    return out;
  }

  PGresult* raw() const { return res_.get(); }

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> res_;
};

// timestamptz text <-> SystemTime, exact to the microsecond.
SystemTime parse_timestamp(std::string_view text);
std::string format_timestamp(SystemTime t);  // "2026-01-02 03:04:05.123456+00"
// A PostgreSQL array literal of text, e.g. {"a","b \"c\""}, for `$1::text[]`.
std::string text_array(const std::vector<std::string>& items);

namespace detail {
inline std::optional<std::string> to_param(const std::string& s) {
  return s;
}
inline std::optional<std::string> to_param(std::string_view s) {
  return std::string(s);
}
inline std::optional<std::string> to_param(const char* s) {
  return s == nullptr ? std::nullopt : std::optional<std::string>(s);
}
inline std::optional<std::string> to_param(bool b) {
  return std::string(b ? "true" : "false");
}
template <std::integral T>
requires(!std::same_as<T, bool>) std::optional<std::string> to_param(T v) {
  return std::to_string(v);
}
inline std::optional<std::string> to_param(double v) {
  return std::to_string(v);
}
inline std::optional<std::string> to_param(std::nullopt_t) {
  return std::nullopt;
}
inline std::optional<std::string> to_param(const boost::json::value& v) {
  return boost::json::serialize(v);
}
inline std::optional<std::string> to_param(const boost::json::object& v) {
  return boost::json::serialize(v);
}
inline std::optional<std::string> to_param(const boost::json::array& v) {
  return boost::json::serialize(v);
}
inline std::optional<std::string> to_param(SystemTime t) {
  return format_timestamp(t);
}
template <typename Rep, typename Period>
std::optional<std::string> to_param(std::chrono::duration<Rep, Period> d) {
  // As an interval in microseconds: use `$n::interval`.
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count()) +
         " microseconds";
}
template <typename T>
std::optional<std::string> to_param(const std::optional<T>& v) {
  if (!v) return std::nullopt;
  return to_param(*v);
}
}  // namespace detail

class Connection {
 public:
  // Connects (conninfo: keyword=value string or postgresql:// URL). Throws
  // tb::Error(kUnavailable) when the server cannot be reached.
  static Connection open(const std::string& conninfo);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  ~Connection() = default;

  // One statement with bound text parameters ($1, $2, ...). NULL for nullopt.
  Result exec(std::string_view sql, const Params& params = {});

  // exec() with arguments converted to text parameters: strings, integers,
  // bool, double, std::optional<T>, std::nullopt, boost::json values (their
  // serialization), SystemTime (timestamptz text), durations (interval text).
  template <typename... Args>
  Result query(std::string_view sql, const Args&... args) {
    Params params;
    params.reserve(sizeof...(Args));
    (params.push_back(detail::to_param(args)), ...);
    return exec(sql, params);
  }

  // Several statements without parameters (migrations, test set-up). Uses
  // PQexec, so never pass user input here.
  void exec_script(const std::string& sql);

  // False once the server went away; a broken connection is never reused.
  bool ok() const;
  // True when no transaction is open (PQTRANS_IDLE).
  bool idle() const;
  // Reconnects with the same parameters (PQreset).
  void reset();
  PGconn* raw() { return conn_.get(); }
  const std::string& conninfo() const { return conninfo_; }

 private:
  struct Finish {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  Connection(std::unique_ptr<PGconn, Finish> conn, std::string conninfo)
      : conn_(std::move(conn)), conninfo_(std::move(conninfo)) {}
  [[noreturn]] void throw_error(PGresult* res, std::string_view sql);
  void init_session();
  // The name `text` is prepared under on this connection (preparing it on
  // first use), or nullptr when the cache is full.
  const char* prepared_name(const std::string& text, int param_count);

  static constexpr std::size_t kMaxPrepared = 256;
  std::unique_ptr<PGconn, Finish> conn_;
  std::string conninfo_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

// The session a long-running loop keeps in `conn`: opened on `conninfo` when
// there is none yet or the last one broke (server restart, network), so the
// loop recovers on its next turn. Throws like Connection::open (the broken
// session is dropped first either way).
Connection& reconnect_if_broken(std::unique_ptr<Connection>& conn, const std::string& conninfo);

// BEGIN on construction; commit() commits; the destructor rolls back when
// commit() was not reached (exception, early return).
class Transaction {
 public:
  explicit Transaction(Connection& conn);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();
  void rollback();
  Connection& conn() { return conn_; }

 private:
  Connection& conn_;
  bool done_ = false;
};

}  // namespace tb::db
