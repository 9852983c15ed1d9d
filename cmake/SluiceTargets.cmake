# Helpers that give every Sluice target the same flags. Flags are set per target, never
# through the global CMAKE_CXX_FLAGS, so third-party code is not held to our warnings.

set(SLUICE_SOURCE_ROOT ${CMAKE_SOURCE_DIR}/src)
option(SLUICE_FULL_DEBUG_INFO "Full debug info (-g) instead of line tables (-g1)" OFF)

# mold links a test binary in a fifth of ld.bfd's time (2.4 s against 12 s for sluiced under
# ASan), and there are a hundred binaries. scripts/install-deps.sh installs it; without it
# the default linker is used.
include(CheckLinkerFlag)
check_linker_flag(CXX "-fuse-ld=mold" SLUICE_HAVE_MOLD)

function(sluice_target_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  # Line tables only (-g1, after the build type's -g): enough for perf, callgrind, gdb
  # backtraces and sanitizer reports, and full debug info costs a quarter of each file's
  # compile time. -DSLUICE_FULL_DEBUG_INFO=ON keeps -g, for a debugger that shows variables.
  if(NOT SLUICE_FULL_DEBUG_INFO)
    target_compile_options(${target} PRIVATE $<$<CONFIG:Debug,RelWithDebInfo>:-g1>)
  endif()
  target_include_directories(${target} PUBLIC ${SLUICE_SOURCE_ROOT} ${CMAKE_SOURCE_DIR}/include)
  if(SLUICE_SANITIZE)
    target_compile_options(${target} PUBLIC -fsanitize=address,undefined -fno-omit-frame-pointer
                                            -fno-sanitize-recover=undefined)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
  if(SLUICE_FAILPOINTS)
    target_compile_definitions(${target} PUBLIC SLUICE_FAILPOINTS=1)
  endif()
  if(SLUICE_HAVE_MOLD)
    target_link_options(${target} PRIVATE -fuse-ld=mold)
  endif()
endfunction()

# sluice_library(NAME SOURCES ... [DEPS ...])
function(sluice_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  sluice_target_flags(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  sluice_use_pch(${name} lib)
endfunction()

# sluice_executable(NAME SOURCES ... [DEPS ...])
function(sluice_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  sluice_target_flags(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  sluice_use_pch(${name} lib)
endfunction()

# Test code is compiled at -O1 in the optimized builds: the code under test (the
# libraries, sluiced, sluice) keeps -O2, and the test files, half of the build's compile
# time, compile a quarter faster (applier_sqlite_test.cc: 9.9 s at -O2, 6.9 s at -O1).
# Their precompiled header (SluicePch.cmake) is compiled the same way.
function(sluice_test_optimization target)
  target_compile_options(${target} PRIVATE $<$<CONFIG:RelWithDebInfo,Release>:-O1>)
endfunction()

# sluice_test(NAME SOURCES ... [DEPS ...] [LABELS ...] [TIMEOUT seconds] [SERIAL])
# One binary per test file; tests are discovered from the binary by CTest. SERIAL: CTest
# runs these tests alone (for the few that watch the wall clock, so that a parallel test
# cannot starve them on a small machine).
function(sluice_test name)
  cmake_parse_arguments(ARG "SERIAL" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  sluice_target_flags(${name})
  sluice_test_optimization(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  sluice_use_pch(${name} test)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  # An empty value would vanish from the list and shift the pairs: add only what is set.
  set(properties TIMEOUT ${ARG_TIMEOUT})
  if(ARG_LABELS)
    # gtest_discover_tests' property list cannot carry a list value (its `;` splits it
    # into pairs), so a test gets its first label only; tests are selected by it, e.g.
    # `ctest -L postgres`. The others stay in the CMake files as documentation.
    list(GET ARG_LABELS 0 first_label)
    list(APPEND properties LABELS ${first_label})
  endif()
  if(ARG_SERIAL)
    list(APPEND properties RUN_SERIAL TRUE)
  endif()
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES ${properties})
endfunction()
