#include "db/connection.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <cstring>

namespace tb::db {
namespace {

std::string field(const PGresult* res, int code) {
  if (res == nullptr) return {};
  const char* v = PQresultErrorField(res, code);  // NULL when the server did not send it
  return v == nullptr ? std::string() : std::string(v);
}

DbError::Kind classify(const std::string& sqlstate, bool connection_bad) {
  using K = DbError::Kind;
  if (connection_bad) return K::kConnectionLost;
  if (sqlstate == "23505") return K::kUniqueViolation;
  if (sqlstate == "23503") return K::kForeignKeyViolation;
  if (sqlstate == "23514" || sqlstate == "23502") return K::kCheckViolation;
  if (sqlstate == "40001") return K::kSerializationFailure;
  if (sqlstate == "40P01") return K::kDeadlock;
  if (sqlstate == "57014") return K::kQueryCanceled;
  if (sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03") {
    return K::kConnectionLost;
  }
  return K::kOther;
}

// Server notices ("schema already exists, skipping") go to the debug log
// instead of libpq's default of printing to stderr.
void notice_to_log(void* /*arg*/, const char* message) {
  std::string_view m(message);
  while (!m.empty() && m.back() == '\n') m.remove_suffix(1);
  spdlog::debug("postgres notice: {}", m);
}

int parse_int(std::string_view s, std::size_t& pos, std::size_t digits) {
  if (pos + digits > s.size()) throw_internal("bad timestamp: " + std::string(s));
  int v = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') throw_internal("bad timestamp: " + std::string(s));
    v = v * 10 + (c - '0');
  }
  pos += digits;
  return v;
}

}  // namespace

DbError::DbError(Kind kind, std::string sqlstate, std::string detail)
    : tb::Error(kind == Kind::kConnectionLost ? ErrorCode::kUnavailable : ErrorCode::kInternal,
                kind == Kind::kConnectionLost ? "the database is unavailable" : "internal error",
                std::move(detail)),
      kind_(kind),
      sqlstate_(std::move(sqlstate)) {}

// ---------------------------------------------------------------- Result

Result::Result(PGresult* res) : res_(res) {}

int Result::rows() const {
  return res_ ? PQntuples(res_.get()) : 0;
}
int Result::columns() const {
  return res_ ? PQnfields(res_.get()) : 0;
}

std::int64_t Result::affected() const {
  if (!res_) return 0;
  const char* n = PQcmdTuples(res_.get());
  if (n == nullptr || *n == '\0') return 0;
  return std::stoll(n);
}

int Result::column(std::string_view name) const {
  std::string n(name);
  int c = res_ ? PQfnumber(res_.get(), n.c_str()) : -1;
  if (c < 0) throw_internal("result has no column \"" + n + "\"");
  return c;
}

bool Result::is_null(int row, int col) const {
  return PQgetisnull(res_.get(), row, col) != 0;
}

std::string_view Result::get(int row, int col) const {
  return {PQgetvalue(res_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(res_.get(), row, col))};
}

std::string Result::text(int row, int col) const {
  return std::string(get(row, col));
}

std::optional<std::string> Result::opt(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return text(row, col);
}

std::int64_t Result::int64(int row, int col) const {
  auto s = get(row, col);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    throw_internal("not an integer: \"" + std::string(s) + "\"");
  }
  return v;
}

std::optional<std::int64_t> Result::opt_int64(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return int64(row, col);
}

bool Result::boolean(int row, int col) const {
  return get(row, col) == "t";
}

boost::json::value Result::json(int row, int col) const {
  if (is_null(row, col)) return nullptr;
  boost::system::error_code ec;
  auto v = boost::json::parse(get(row, col), ec);
  if (ec) throw_internal("bad json from database: " + ec.message());
  return v;
}

SystemTime Result::time(int row, int col) const {
  return parse_timestamp(get(row, col));
}

std::optional<SystemTime> Result::opt_time(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return time(row, col);
}

// ---------------------------------------------------------------- time

SystemTime parse_timestamp(std::string_view s) {
  using namespace std::chrono;
  // "YYYY-MM-DD HH:MM:SS[.f{1,6}][+-HH[:MM[:SS]]]"
  std::size_t pos = 0;
  int y = parse_int(s, pos, 4);
  if (pos >= s.size() || s[pos++] != '-') throw_internal("bad timestamp: " + std::string(s));
  int mo = parse_int(s, pos, 2);
  ++pos;
  int d = parse_int(s, pos, 2);
  if (pos >= s.size() || (s[pos] != ' ' && s[pos] != 'T')) {
    throw_internal("bad timestamp: " + std::string(s));
  }
  ++pos;
  int h = parse_int(s, pos, 2);
  ++pos;
  int mi = parse_int(s, pos, 2);
  ++pos;
  int se = parse_int(s, pos, 2);
  std::int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) {
        micros = micros * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    for (; digits < 6; ++digits) micros *= 10;
  }
  int offset_seconds = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = parse_int(s, pos, 2);
    int om = 0;
    int os = 0;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      om = parse_int(s, pos, 2);
      if (pos < s.size() && s[pos] == ':') {
        ++pos;
        os = parse_int(s, pos, 2);
      }
    }
    offset_seconds = sign * (oh * 3600 + om * 60 + os);
  } else if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  }
  auto days = sys_days(year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)});
  auto tp = time_point_cast<microseconds>(days) + hours(h) + minutes(mi) + seconds(se) +
            microseconds(micros) - seconds(offset_seconds);
  return time_point_cast<SystemTime::duration>(tp);
}

std::string format_timestamp(SystemTime t) {
  using namespace std::chrono;
  auto us = time_point_cast<microseconds>(t);
  if (us > t) us -= microseconds(1);  // floor for times before the epoch
  auto days = floor<std::chrono::days>(us);
  year_month_day ymd{days};
  hh_mm_ss hms{us - days};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d.%06lld+00",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<long long>(hms.subseconds().count()));
  return buf;
}

std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// ---------------------------------------------------------------- Connection

Connection& reconnect_if_broken(std::unique_ptr<Connection>& conn, const std::string& conninfo) {
  if (conn && conn->ok()) return *conn;
  conn.reset();
  conn = std::make_unique<Connection>(Connection::open(conninfo));
  return *conn;
}

Connection Connection::open(const std::string& conninfo) {
  // expand_dbname: `conninfo` may be a URL or keyword=value string; the
  // connect_timeout that follows only applies when it does not set its own.
  bool has_timeout = conninfo.find("connect_timeout") != std::string::npos;
  const char* keys[] = {"dbname", has_timeout ? nullptr : "connect_timeout", nullptr};
  const char* values[] = {conninfo.c_str(), has_timeout ? nullptr : "5", nullptr};
  std::unique_ptr<PGconn, Finish> conn(PQconnectdbParams(keys, values, 1));
  if (!conn)
    throw tb::Error(ErrorCode::kUnavailable, "the database is unavailable", "out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn.get());
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    throw tb::Error(ErrorCode::kUnavailable, "the database is unavailable",
                    "cannot connect to the database: " + msg);
  }
  Connection c(std::move(conn), conninfo);
  c.init_session();
  return c;
}

void Connection::init_session() {
  PQsetNoticeProcessor(conn_.get(), &notice_to_log, nullptr);
  exec("SET TIME ZONE 'UTC'");
}

Result Connection::exec(std::string_view sql, const Params& params) {
  std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const int n = static_cast<int>(values.size());
  const char* name = params.empty() ? nullptr : prepared_name(text, n);
  PGresult* res =
      name != nullptr
          ? PQexecPrepared(conn_.get(), name, n, values.data(), nullptr, nullptr, 0)
          : PQexecParams(conn_.get(), text.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0);
  auto st = res == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw_error(res, sql);
  return Result(res);
}

const char* Connection::prepared_name(const std::string& text, int param_count) {
  if (auto it = prepared_.find(text); it != prepared_.end()) return it->second.c_str();
  if (prepared_.size() >= kMaxPrepared) return nullptr;
  std::string name = "tb_" + std::to_string(prepared_.size());
  PGresult* res = PQprepare(conn_.get(), name.c_str(), text.c_str(), param_count, nullptr);
  auto st = res == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(res);
  if (st != PGRES_COMMAND_OK) throw_error(res, text);
  PQclear(res);
  return prepared_.emplace(text, std::move(name)).first->second.c_str();
}

void Connection::exec_script(const std::string& sql) {
  PGresult* res = PQexec(conn_.get(), sql.c_str());
  auto st = res == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw_error(res, sql);
  PQclear(res);
}

void Connection::throw_error(PGresult* res, std::string_view sql) {
  Result owned(res);  // freed on the way out
  std::string sqlstate = field(res, PG_DIAG_SQLSTATE);
  std::string message = res != nullptr ? field(res, PG_DIAG_MESSAGE_PRIMARY) : std::string();
  if (message.empty()) {
    message = PQerrorMessage(conn_.get());
    while (!message.empty() && message.back() == '\n') message.pop_back();
  }
  bool bad = PQstatus(conn_.get()) == CONNECTION_BAD;
  auto kind = classify(sqlstate, bad);
  std::string shown(sql.substr(0, 300));
  DbError err(kind, sqlstate,
              "sql error " + (sqlstate.empty() ? std::string("(no sqlstate)") : sqlstate) + ": " +
                  message + " [in: " + shown + (sql.size() > 300 ? "..." : "") + "]");
  err.set_constraint(field(res, PG_DIAG_CONSTRAINT_NAME));
  throw err;
}

bool Connection::ok() const {
  return conn_ && PQstatus(conn_.get()) == CONNECTION_OK;
}

bool Connection::idle() const {
  return conn_ && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
}

void Connection::reset() {
  PQreset(conn_.get());
  prepared_.clear();  // a new session has none
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn_.get());
    throw tb::Error(ErrorCode::kUnavailable, "the database is unavailable",
                    "cannot reconnect to the database: " + msg);
  }
  init_session();
}

// ---------------------------------------------------------------- Transaction

Transaction::Transaction(Connection& conn) : conn_(conn) {
  conn_.exec("BEGIN");
}

Transaction::~Transaction() {
  if (done_) return;
  try {
    if (conn_.ok()) conn_.exec("ROLLBACK");
  } catch (const std::exception& e) {
    spdlog::warn("rollback failed: {}", e.what());
  }
}

void Transaction::commit() {
  done_ = true;  // a failed COMMIT has ended the transaction too
  conn_.exec("COMMIT");
}

void Transaction::rollback() {
  done_ = true;
  conn_.exec("ROLLBACK");
}

}  // namespace tb::db
