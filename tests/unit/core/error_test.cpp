// The error vocabulary (core/error.hpp): each code's stable name, HTTP status
// and whether trying again may help; one Cancelled type.
#include "core/error.hpp"

#include <gtest/gtest.h>

namespace tb {
namespace {

TEST(ErrorCodes, TheCodeDecidesWhetherAJobIsRetried) {
  // Worth another attempt later: the project's other job may have ended, the
  // database or Telegram may be back, an unexpected failure may not recur.
  for (auto c : {ErrorCode::kProjectBusy, ErrorCode::kUnavailable, ErrorCode::kInternal,
                 ErrorCode::kRateLimited}) {
    EXPECT_TRUE(is_retryable(c)) << code_name(c);
  }
  // The same on every attempt: bad input, a refusal, something gone, a cancel.
  for (auto c : {ErrorCode::kValidation, ErrorCode::kUnauthorized, ErrorCode::kForbidden,
                 ErrorCode::kNotFound, ErrorCode::kMethodNotAllowed, ErrorCode::kConflict,
                 ErrorCode::kPayloadTooLarge, ErrorCode::kUnsupportedMedia,
                 ErrorCode::kRemoteRefused, ErrorCode::kCancelled}) {
    EXPECT_FALSE(is_retryable(c)) << code_name(c);
  }
}

TEST(ErrorCodes, NewCodesHaveStableNamesAndStatuses) {
  EXPECT_EQ(code_name(ErrorCode::kCancelled), "CANCELLED");
  EXPECT_EQ(code_name(ErrorCode::kRemoteRefused), "REMOTE_REFUSED");
  EXPECT_EQ(http_status(ErrorCode::kRemoteRefused), 502);
  EXPECT_EQ(code_name(ErrorCode::kUnavailable), "UNAVAILABLE");
  EXPECT_EQ(http_status(ErrorCode::kUnavailable), 503);
}

TEST(ErrorCodes, CancelledIsOneTypeWithItsOwnCodeAndAPublicMessage) {
  try {
    throw Cancelled("the restore was cancelled; the schema is unchanged");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCancelled);
    EXPECT_EQ(e.message(), "the restore was cancelled; the schema is unchanged");
    EXPECT_FALSE(is_retryable(e.code()));
  }
  EXPECT_EQ(Cancelled().message(), "cancelled");
}

TEST(ErrorCodes, WhatCarriesTheDetailForTheLogAndMessageStaysPublic) {
  Error e(ErrorCode::kInternal, "pg_dump failed", "exit 1; stderr: /var/run/x");
  EXPECT_STREQ(e.what(), "pg_dump failed: exit 1; stderr: /var/run/x");
  EXPECT_EQ(e.message(), "pg_dump failed");
}

}  // namespace
}  // namespace tb
