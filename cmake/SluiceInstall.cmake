# `cmake --install`: the two programs, and the client library as a library a program can
# build against, found with pkg-config (sluice.pc) or CMake (find_package(sluice)).
#
#   bin/sluiced, bin/sluice
#   share/sluice/web/                               the dashboard (docs/dashboard.md), which
#                                                   sluiced serves when [http] web_root is unset
#   include/sluice/client.h, sluice.h, status.h     the public API (C++ and C)
#   include/sluice/v1/records.pb.h, service.pb.h    its message types (generated)
#   lib/libsluice_*.a                               the client library and what it uses
#   lib/pkgconfig/sluice.pc
#   lib/cmake/sluice/sluiceConfig.cmake, sluiceConfigVersion.cmake   (target sluice::client)
#
# The libraries are static: the client library is six archives (client, rpc for its
# channels and status mapping, journal for its spool, the generated gRPC and message
# code, common), listed in link order. A consumer also links protobuf, grpc++, fmt and
# spdlog, which both files name.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS sluiced sluice RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES
          ${PROJECT_SOURCE_DIR}/web/index.html
          ${PROJECT_SOURCE_DIR}/web/dashboard.js
          ${PROJECT_SOURCE_DIR}/web/dashboard.css
        DESTINATION ${CMAKE_INSTALL_DATADIR}/sluice/web)

# In link order: each archive before the ones it uses.
set(SLUICE_CLIENT_ARCHIVES sluice_client sluice_rpc sluice_journal sluice_grpc sluice_proto sluice_common)
install(TARGETS ${SLUICE_CLIENT_ARCHIVES} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

install(FILES
          ${PROJECT_SOURCE_DIR}/include/sluice/client.h
          ${PROJECT_SOURCE_DIR}/include/sluice/sluice.h
          ${PROJECT_SOURCE_DIR}/include/sluice/status.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sluice)
install(FILES
          ${PROJECT_BINARY_DIR}/proto/sluice/v1/records.pb.h
          ${PROJECT_BINARY_DIR}/proto/sluice/v1/service.pb.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sluice/v1)

list(TRANSFORM SLUICE_CLIENT_ARCHIVES PREPEND "-l" OUTPUT_VARIABLE SLUICE_PC_LIBS)
list(JOIN SLUICE_PC_LIBS " " SLUICE_PC_LIBS)
configure_file(${PROJECT_SOURCE_DIR}/cmake/sluice.pc.in ${PROJECT_BINARY_DIR}/sluice.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sluice.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

configure_file(${PROJECT_SOURCE_DIR}/cmake/sluiceConfig.cmake.in
               ${PROJECT_BINARY_DIR}/sluiceConfig.cmake @ONLY)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sluiceConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sluiceConfig.cmake
              ${PROJECT_BINARY_DIR}/sluiceConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sluice)

# Installs into a temporary prefix, checks that every installed header includes only
# installed or system headers, and builds and runs a small program against the
# installation twice: with pkg-config and with find_package(sluice), compiled by the
# system compiler. Needs the whole tree built (it installs sluiced and sluice too).
# Not in sanitizer builds: their archives need the consumer to link the sanitizer
# runtimes too, which is not what an installation is for.
if(NOT SLUICE_SANITIZE)
add_test(NAME install_consumer_test
         COMMAND ${CMAKE_COMMAND}
                 -DBUILD_DIR=${PROJECT_BINARY_DIR}
                 -DCONSUMER_DIR=${PROJECT_SOURCE_DIR}/tests/install
                 -DWORK_DIR=${PROJECT_BINARY_DIR}/install_consumer_test
                 -P ${PROJECT_SOURCE_DIR}/tests/install/install_consumer_test.cmake)
set_tests_properties(install_consumer_test PROPERTIES TIMEOUT 900 LABELS install
                     PASS_REGULAR_EXPRESSION "install_consumer_test: passed")
endif()
