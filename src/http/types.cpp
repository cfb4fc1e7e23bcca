#include "http/types.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace tb::http {

std::string Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (boost::beast::iequals(k, name)) return v;
  }
  return {};
}

Response json_data(boost::json::value data, int status) {
  boost::json::object o;
  o["data"] = std::move(data);
  Response r;
  r.status = status;
  r.body = boost::json::serialize(o);
  return r;
}

Response error_response(const tb::Error& e, std::string_view request_id) {
  boost::json::object err;
  err["code"] = code_name(e.code());
  err["message"] = e.message();
  if (!e.field().empty()) err["field"] = e.field();
  if (!request_id.empty()) err["request_id"] = request_id;
  boost::json::object o;
  o["error"] = std::move(err);
  Response r;
  r.status = http_status(e.code());
  r.body = boost::json::serialize(o);
  return r;
}

Response file_response(std::string path, std::string download_name, std::string content_type) {
  Response r;
  r.content_type = std::move(content_type);
  r.file = FileBody{std::move(path), std::move(download_name), {}};
  return r;
}

Response html_response(std::string body, std::string csp) {
  Response r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  r.headers.emplace_back("Content-Security-Policy", std::move(csp));
  return r;
}

}  // namespace tb::http
