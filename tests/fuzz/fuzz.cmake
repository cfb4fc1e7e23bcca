# Fuzz targets (tests/fuzz/<target>.cpp), included from tests/tests.cmake.
#
# Always: unit_fuzz_regression, a gtest binary that replays every seed corpus
# (tests/fuzz/corpus/<target>/) through the targets under the normal compiler.
# Each target's LLVMFuzzerTestOneInput is renamed tb_fuzz_<target> there so that
# all of them live in one binary.
# With -DTB_BUILD_FUZZ=ON (clang only, scripts/fuzz.sh): one libFuzzer binary
# fuzz_<target> per target; the libraries are instrumented through
# CMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link,address,undefined set by the script.
option(TB_BUILD_FUZZ "Build the libFuzzer targets (clang)" OFF)

set(tb_fuzz_targets request_body jwt range telegram_reply)
set(tb_fuzz_deps_request_body tb_model)
set(tb_fuzz_deps_jwt tb_auth)
# range.cpp alone, not tb_http: clang 14 cannot compile the server's Asio
# coroutines with coverage instrumentation ("Cannot represent a difference
# across sections"), and the parser needs nothing else.
set(tb_fuzz_deps_range tb_core)
set(tb_fuzz_extra_range ${PROJECT_SOURCE_DIR}/src/http/range.cpp)
# The Bot API reply reader: tb_telegram builds fine under clang's fuzz flags
# (libcurl, Boost.JSON, no Asio).
set(tb_fuzz_deps_telegram_reply tb_telegram)

set(tb_fuzz_dir ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
add_executable(unit_fuzz_regression ${tb_fuzz_dir}/regression_test.cpp)
target_compile_definitions(unit_fuzz_regression PRIVATE TB_FUZZ_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(unit_fuzz_regression PRIVATE GTest::gtest_main tb_warnings)
foreach(t IN LISTS tb_fuzz_targets)
  add_library(fuzz_regression_${t} OBJECT ${tb_fuzz_dir}/${t}.cpp ${tb_fuzz_extra_${t}})
  target_include_directories(fuzz_regression_${t} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(fuzz_regression_${t} PRIVATE LLVMFuzzerTestOneInput=tb_fuzz_${t})
  target_link_libraries(fuzz_regression_${t} PRIVATE ${tb_fuzz_deps_${t}} tb_warnings)
  target_link_libraries(unit_fuzz_regression PRIVATE fuzz_regression_${t} ${tb_fuzz_deps_${t}})
endforeach()
add_test(NAME unit_fuzz_regression COMMAND unit_fuzz_regression)
set_tests_properties(unit_fuzz_regression PROPERTIES LABELS unit TIMEOUT 120
  ENVIRONMENT "TB_SOURCE_DIR=${PROJECT_SOURCE_DIR};ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1")

if(TB_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TB_BUILD_FUZZ needs clang (scripts/fuzz.sh configures one)")
  endif()
  add_custom_target(fuzz_all)
  foreach(t IN LISTS tb_fuzz_targets)
    add_executable(fuzz_${t} ${tb_fuzz_dir}/${t}.cpp ${tb_fuzz_extra_${t}})
    target_include_directories(fuzz_${t} PRIVATE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(fuzz_${t} PRIVATE ${tb_fuzz_deps_${t}} tb_warnings)
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer,address,undefined)
    add_dependencies(fuzz_all fuzz_${t})
  endforeach()
endif()
