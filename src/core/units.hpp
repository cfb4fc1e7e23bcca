// Human-readable quantities for messages people read (e-mails, captions).
#pragma once

#include <cstdint>
#include <string>

namespace tb {

// "512 B", "11.6 KiB", "1.4 GiB" (binary units, one decimal above bytes).
std::string human_size(std::uint64_t bytes);

}  // namespace tb
