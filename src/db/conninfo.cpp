#include "db/conninfo.hpp"

#include <libpq-fe.h>

#include "core/error.hpp"

namespace tb::db {
namespace {

std::string quote_value(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

ConninfoOptions parse_conninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts == nullptr) {
    std::string why = err != nullptr ? err : "out of memory";
    PQfreemem(err);
    throw Error(ErrorCode::kInternal, "invalid database connection settings",
                "PQconninfoParse: " + why);
  }
  ConninfoOptions out;
  for (auto* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && o->val[0] != '\0') out.emplace_back(o->keyword, o->val);
  }
  PQconninfoFree(opts);
  return out;
}

std::string format_conninfo(const ConninfoOptions& options) {
  std::string out;
  for (const auto& [key, value] : options) {
    if (!out.empty()) out += ' ';
    out += key + "=" + quote_value(value);
  }
  return out;
}

ChildConninfo split_password(const std::string& conninfo) {
  ChildConninfo out;
  ConninfoOptions without_password;
  for (auto& [key, value] : parse_conninfo(conninfo)) {
    if (key == "password") {
      out.password = std::move(value);
    } else {
      without_password.emplace_back(std::move(key), std::move(value));
    }
  }
  out.conninfo = format_conninfo(without_password);
  return out;
}

}  // namespace tb::db
