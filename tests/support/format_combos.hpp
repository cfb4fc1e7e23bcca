// Every dump format with every compression: the parameters of the round-trip
// suites (export, restore), so each covers the same six combinations.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "backup/export.hpp"

namespace tb::test {

struct FormatCombo {
  backup::Format format;
  backup::Compression compression;
};

inline auto all_format_combos() {
  using backup::Compression;
  using backup::Format;
  return ::testing::Values(
      FormatCombo{Format::kSql, Compression::kZstd}, FormatCombo{Format::kSql, Compression::kGzip},
      FormatCombo{Format::kSql, Compression::kNone}, FormatCombo{Format::kTar, Compression::kZstd},
      FormatCombo{Format::kTar, Compression::kGzip}, FormatCombo{Format::kTar, Compression::kNone});
}

// "sql_zstd", "tar_none", ...: the test's name suffix.
inline std::string format_combo_name(const ::testing::TestParamInfo<FormatCombo>& info) {
  return std::string(backup::to_string(info.param.format)) + "_" +
         std::string(backup::to_string(info.param.compression));
}

}  // namespace tb::test
