// The route table: method + path pattern → Route. Built once at start-up and
// read concurrently without locks afterwards.
//
// Patterns are split into segments: literals match exactly, "{name}" matches
// one non-empty segment (captured into params), a final "{*name}" matches the
// rest of the path (possibly empty). Literal segments win over parameters
// ("/api/backup/history" beats "/api/backup/{id}"), whatever the table order.
// A HEAD request matches GET routes. match() tells "no such path" (404) from
// "path exists, other method" (405, with the allowed methods for Allow).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "http/types.hpp"

namespace tb::http {

class Router {
 public:
  // Throws tb::Error (kInternal) on a malformed pattern or a duplicate route.
  explicit Router(std::vector<Route> routes);

  struct Match {
    const Route* route = nullptr;  // null: see `allow`
    std::map<std::string, std::string, std::less<>> params;
    // When route is null: empty → 404 NOT_FOUND; else 405 with "Allow: <allow>".
    std::string allow;
    std::size_t index = 0;  // position of route in routes() (when found)
  };
  // `path` is the percent-decoded path without query.
  Match match(std::string_view method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Segment {
    enum Kind { kLiteral, kParam, kRest } kind;
    std::string text;  // literal text or parameter name
  };
  std::vector<Route> routes_;
  std::vector<std::vector<Segment>>
      compiled_;                    // parallel to routes_, literal-first order via order_
  std::vector<std::size_t> order_;  // routes_ indexes, most specific first
};

}  // namespace tb::http
