// s3: a small S3 client (libcurl signs every request with SigV4) for backups
// kept in an S3-compatible bucket: multipart uploads streamed with bounded
// memory, HEAD, streamed GET, DELETE, and the list and abort of unfinished
// multipart uploads.
//
// Options is a plain struct: the caller (app/) builds it from the
// configuration; nothing here reads the environment.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tb::s3 {

// S3's limits: every part but the last is at least 5 MiB; at most 10000 parts.
inline constexpr std::uint64_t kMinPartSize = 5ull * 1024 * 1024;
inline constexpr int kMaxParts = 10000;

struct Options {
  // "" = AWS (https://s3.REGION.amazonaws.com); else "http(s)://host[:port][/base]".
  std::string endpoint;
  std::string bucket;
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;  // never in a message, a log line or an exception
  std::string session_token;      // sent as x-amz-security-token when set; secret too
  // true: ENDPOINT/BUCKET/KEY; false: BUCKET.HOST/KEY (AWS's default).
  bool path_style = false;

  std::uint64_t part_size = 8ull * 1024 * 1024;
  // Parts uploaded at once; memory of an upload is at most (parallel_parts + 1) × part_size.
  // Two, with the dump filling a third buffer, keep the peak RSS of an
  // export to local + s3 under 64 MB (8 MiB parts); on loopback the S3
  // server's CPU, not the number of connections, sets the pace.
  int parallel_parts = 2;

  // Every request: up to max_attempts tries on 5xx, 429, SlowDown,
  // RequestTimeout, connection errors and stalls; the wait doubles from
  // backoff_base up to backoff_max (with jitter).
  int max_attempts = 5;
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{20000};
  std::chrono::seconds connect_timeout{30};
  // An attempt that moves no byte for this long fails (and is retried).
  std::chrono::seconds stall_timeout{60};
};

}  // namespace tb::s3
