# Optional instrumented builds (clang only; scripts/test-sanitized makes one such tree):
#   FEP_SANITIZE  every target with AddressSanitizer and UndefinedBehaviorSanitizer; any
#                 undefined behaviour aborts, like a memory error
#   FEP_FUZZ      the libFuzzer targets of tests/fuzz, and coverage for them in every library
# Both off by default: the normal (GCC) build is unaffected.
option(FEP_SANITIZE "Build everything with -fsanitize=address,undefined (clang)" OFF)
option(FEP_FUZZ "Build the libFuzzer targets in tests/fuzz (clang)" OFF)

if((FEP_SANITIZE OR FEP_FUZZ) AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "FEP_SANITIZE and FEP_FUZZ need clang: configure with "
                      "-DCMAKE_CXX_COMPILER=clang++-14 (found ${CMAKE_CXX_COMPILER_ID})")
endif()

if(FEP_SANITIZE)
  # Line tables are all a report's stack trace needs; full debug info would only grow the tree.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -gline-tables-only)
  add_link_options(-fsanitize=address,undefined)
endif()

if(FEP_FUZZ)
  # Coverage for libFuzzer in the libraries; only the fuzz targets link libFuzzer itself
  # (-fsanitize=fuzzer in tests/fuzz), so the tests and binaries keep their own main().
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=fuzzer-no-link)
endif()
