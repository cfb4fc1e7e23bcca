#include "support/http_client.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <stdexcept>
#include <thread>

namespace tb::test {
namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    static_cast<std::multimap<std::string, std::string>*>(user)->emplace(name, value);
  }
  return size * n;
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

boost::json::value HttpResponse::json() const {
  return boost::json::parse(body);
}

HttpResponse http_call(const HttpRequest& request) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  HttpResponse response;
  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl.get(), CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(curl.get(), CURLOPT_NOBODY, 1L);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &response.headers);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(curl.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    throw std::runtime_error(std::string("http call failed: ") + curl_easy_strerror(rc) + " " +
                             request.url);
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

HttpResponse http_get(const std::string& url, const std::string& token) {
  HttpRequest r;
  r.url = url;
  if (!token.empty()) r.headers.push_back("Authorization: Bearer " + token);
  return http_call(r);
}

HttpResponse http_post_json(const std::string& url, const std::string& body,
                            const std::string& token) {
  HttpRequest r;
  r.method = "POST";
  r.url = url;
  r.body = body;
  r.headers.push_back("Content-Type: application/json");
  if (!token.empty()) r.headers.push_back("Authorization: Bearer " + token);
  return http_call(r);
}

bool job_ended(const boost::json::object& job) {
  auto s = job.at("status").as_string();
  return s == "completed" || s == "failed" || s == "cancelled";
}

boost::json::object poll_job(const std::string& base_url, const std::string& token,
                             const std::string& job_id,
                             const std::function<bool(const boost::json::object&)>& done,
                             int seconds, const std::function<std::string()>& context) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  boost::json::object job;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = http_get(base_url + "/api/jobs/" + job_id, token);
    EXPECT_EQ(r.status, 200) << r.body;
    job = r.json().at("data").as_object();
    if (done(job)) return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "timed out waiting for job " << job_id << ": " << boost::json::serialize(job)
                << "\n"
                << (context ? context() : std::string());
  return job;
}

}  // namespace tb::test
