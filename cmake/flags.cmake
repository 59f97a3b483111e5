# Flags shared by every target of ours (not by third-party headers).
add_library(fep_flags INTERFACE)
target_compile_options(fep_flags INTERFACE -Wall -Wextra -Werror -Wpedantic)
# GCC 12 reports std::string concatenation as overlapping memcpy at -O2 (GCC bug 105329).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(fep_flags INTERFACE -Wno-restrict)
endif()
target_compile_definitions(fep_flags INTERFACE
  FEP_VERSION="${PROJECT_VERSION}")

# A test executable of one module: doctest sources, linked to the module, registered with CTest.
function(fep_add_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE fep_flags fep_doctest_main ${ARG_LIBS})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit)
endfunction()
