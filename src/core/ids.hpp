// Identifiers: random UUIDv4 strings (job ids, backup ids, request ids).
#pragma once

#include <string>
#include <string_view>

namespace tb {

std::string new_uuid();
bool is_uuid(std::string_view s);

}  // namespace tb
