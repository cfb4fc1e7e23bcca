// The libFuzzer entry point, declared once so that -Wmissing-declarations is
// satisfied. Each target .cpp under tests/fuzz/ defines it; the regression
// build (tests/fuzz/fuzz.cmake) renames it per target with a
// -DLLVMFuzzerTestOneInput=tb_fuzz_<target> definition so that every target
// links into one gtest binary that replays tests/fuzz/corpus/<target>/.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
