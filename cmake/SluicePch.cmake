# Precompiled headers. Each Sluice file spends most of its compile time parsing the same
# third-party headers (gRPC with the protobuf runtime alone takes 4 s a file); compiling
# them once per build and reusing the result in every target (REUSE_FROM) saves a third of
# the build, which is most of CI's time on two cores.
#
# A precompiled header can only be reused by files compiled with the same flags and the
# same macros. Every Sluice target gets the flags from sluice_target_flags and the macros of
# fmt and spdlog from sluice_use_pch below; -Winvalid-pch (an error under -Werror) makes a
# header that GCC cannot use fail the build instead of silently costing the time again.
#
# Without it (-DSLUICE_PCH=OFF): to check that every file includes what it uses (the
# precompiled header would hide a missing #include), and for ccache users who build many
# worktrees (a precompiled header differs per build directory, so ccache misses).

# GCC 12 inlines differently with the precompiled header and then raises its known false
# positives -Warray-bounds, -Wstringop-overflow and -Wstringop-overread on a std::string's
# inline buffer (a memcpy "out of the bounds [0, 32]", "writing 35 bytes into a region of
# size 16", "reading 34 bytes from a region of size 16"; its -Wrestrict on string
# concatenation is of the same family), on `std::string(...) + "..."`
# and on a long literal inserted into a vector<string>, in test files that build cleanly
# without the header. Which lines it flags depends on the literals' lengths, and those
# include the build directory's path (SLUICE_CLI_PATH), so rewriting the flagged lines
# cannot keep a build elsewhere clean. The test targets therefore build without these
# four warnings on GCC 12 when the header is on; the product's targets keep them, and the
# tests run under AddressSanitizer, which finds a real out-of-bounds access.
option(SLUICE_PCH "Precompile the heavy third-party headers shared by every target" ON)

if(SLUICE_PCH)
  foreach(kind lib test)
    set(host sluice_pch_${kind})
    add_library(${host} STATIC ${CMAKE_SOURCE_DIR}/cmake/pch/pch_host.cc)
    sluice_target_flags(${host})
    target_link_libraries(${host} PUBLIC sluice_grpc fmt::fmt spdlog::spdlog)
    if(kind STREQUAL "lib")
      target_precompile_headers(${host} PRIVATE ${CMAKE_SOURCE_DIR}/cmake/pch/sluice_pch.h)
    else()
      target_link_libraries(${host} PUBLIC GTest::gtest GTest::gmock)
      sluice_test_optimization(${host})
      target_precompile_headers(${host} PRIVATE ${CMAKE_SOURCE_DIR}/cmake/pch/sluice_pch_test.h)
    endif()
  endforeach()
endif()

# sluice_use_pch(TARGET lib|test): compile TARGET with the shared precompiled header.
function(sluice_use_pch target kind)
  if(NOT SLUICE_PCH)
    return()
  endif()
  # The header was compiled with these libraries' macros; the target must see the same.
  target_link_libraries(${target} PRIVATE sluice_grpc fmt::fmt spdlog::spdlog)
  target_precompile_headers(${target} REUSE_FROM sluice_pch_${kind})
  target_compile_options(${target} PRIVATE -Winvalid-pch)
  if(kind STREQUAL "test" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU"
     AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-array-bounds -Wno-stringop-overflow
                                               -Wno-stringop-overread -Wno-restrict)
  endif()
endfunction()
