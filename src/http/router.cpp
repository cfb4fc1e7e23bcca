#include "http/router.hpp"

#include <algorithm>
#include <set>

namespace tb::http {
namespace {

// "/a/b" → {"a","b"}; "/" → {""}. The leading '/' is required by the caller.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : routes_) {
    if (r.pattern.empty() || r.pattern.front() != '/' || r.method.empty() || !r.handler) {
      throw Error(ErrorCode::kInternal, "internal error",
                  "bad route '" + r.method + " " + r.pattern + "'");
    }
    if (!seen.emplace(r.method, r.pattern).second) {
      throw Error(ErrorCode::kInternal, "internal error",
                  "duplicate route '" + r.method + " " + r.pattern + "'");
    }
    std::vector<Segment> segs;
    auto parts = split_path(r.pattern);
    for (std::size_t i = 0; i < parts.size(); ++i) {
      auto p = parts[i];
      if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
        auto name = p.substr(1, p.size() - 2);
        if (!name.empty() && name.front() == '*') {
          if (i + 1 != parts.size() || name.size() == 1) {
            throw Error(ErrorCode::kInternal, "internal error",
                        "catch-all must be last and named in '" + r.pattern + "'");
          }
          segs.push_back({Segment::kRest, std::string(name.substr(1))});
        } else {
          if (name.empty()) {
            throw Error(ErrorCode::kInternal, "internal error",
                        "empty parameter in '" + r.pattern + "'");
          }
          segs.push_back({Segment::kParam, std::string(name)});
        }
      } else {
        segs.push_back({Segment::kLiteral, std::string(p)});
      }
    }
    compiled_.push_back(std::move(segs));
  }
  order_.resize(routes_.size());
  for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
  // Most specific first: at the first differing position a literal beats a
  // parameter, which beats a catch-all.
  std::stable_sort(order_.begin(), order_.end(), [this](std::size_t a, std::size_t b) {
    const auto& x = compiled_[a];
    const auto& y = compiled_[b];
    for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
      if (x[i].kind != y[i].kind) return x[i].kind < y[i].kind;
    }
    return x.size() > y.size();
  });
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  const std::string_view want = method == "HEAD" ? std::string_view("GET") : method;
  const auto parts = split_path(path);
  std::vector<std::string_view> allowed;
  std::map<std::string, std::string, std::less<>> params;
  for (std::size_t idx : order_) {
    const auto& segs = compiled_[idx];
    params.clear();
    bool ok = true;
    bool rest = false;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      const auto& s = segs[i];
      if (s.kind == Segment::kRest) {
        // The rest of the path after the consumed segments, possibly "".
        std::string tail;
        for (std::size_t j = i; j < parts.size(); ++j) {
          if (j > i) tail += '/';
          tail += parts[j];
        }
        params.emplace(s.text, std::move(tail));
        rest = true;
      } else if (i >= parts.size()) {
        ok = false;
      } else if (s.kind == Segment::kLiteral) {
        ok = parts[i] == s.text;
      } else {
        ok = !parts[i].empty();
        if (ok) params.emplace(s.text, std::string(parts[i]));
      }
    }
    if (!ok || (!rest && segs.size() != parts.size())) continue;
    const auto& route = routes_[idx];
    if (route.method == want) {
      if (m.route == nullptr) {
        m.route = &route;
        m.index = idx;
        m.params = std::move(params);
        return m;
      }
    }
    if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
      allowed.push_back(route.method);
    }
  }
  if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end())
    allowed.emplace_back("HEAD");
  std::sort(allowed.begin(), allowed.end());
  for (auto a : allowed) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += a;
  }
  return m;
}

}  // namespace tb::http
