// Fuzz target: the API's request-body readers (src/model). The first byte
// picks the reader, the rest is the body. A reader may accept or refuse with
// tb::Error VALIDATION_ERROR; anything else (another exception, a crash, a
// sanitizer report) is a bug. Accepted values are checked against the
// invariants the rest of the program relies on.
#include <cstdlib>
#include <string_view>

#include "core/error.hpp"
#include "fuzz_target.hpp"
#include "model/json_body.hpp"
#include "model/requests.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();  // an invariant broke: make the fuzzer keep this input
}

void run(std::uint8_t selector, std::string_view body) {
  switch (selector % 4) {
    case 0: {
      auto r = tb::model::parse_export_request(body);
      check(tb::model::is_valid_project_id(r.project_id));
      check(r.format == "sql" || r.format == "tar");
      check(r.compression == "zstd" || r.compression == "gzip" || r.compression == "none");
      if (r.storage_path) check(tb::model::is_valid_storage_path_syntax(*r.storage_path));
      break;
    }
    case 1: {
      tb::model::BackupSettings current;
      auto s = tb::model::parse_settings_update(body, current);
      check(s.format == "sql" || s.format == "tar");
      break;
    }
    case 2:
      (void)tb::model::parse_restore_request(body);
      break;
    default:
      (void)tb::model::parse_json_object(body);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    run(data[0], body);
  } catch (const tb::Error& e) {
    check(e.code() == tb::ErrorCode::kValidation);
  }
  return 0;
}
