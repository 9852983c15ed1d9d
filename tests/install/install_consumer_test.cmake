# cmake -DBUILD_DIR=... -DCONSUMER_DIR=... -DWORK_DIR=... -P install_consumer_test.cmake
#
# 1. cmake --install BUILD_DIR into WORK_DIR/prefix;
# 2. every installed header includes only installed headers or system headers (no
#    "common/..." or other header of the source or build tree);
# 3. consumer.cc built with the system compiler and `pkg-config --cflags --libs sluice`,
#    and run;
# 4. the same consumer built by a CMake project with find_package(sluice), and run.
# Prints "install_consumer_test: passed" at the end; any failure stops with the step, the
# command and its output.

foreach(var BUILD_DIR CONSUMER_DIR WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "install_consumer_test: -D${var}=... is required")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# Runs a command; fails the test with `what`, the command and its output.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  WORKING_DIRECTORY ${WORK_DIR})
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "install_consumer_test: ${what} failed (exit ${rc})\n"
                        "command: ${cmd}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

# 1. Install.
run("cmake --install (is the whole tree built?)" ${CMAKE_COMMAND} --install ${BUILD_DIR}
    --prefix ${prefix})
foreach(f bin/sluiced bin/sluice include/sluice/client.h include/sluice/sluice.h
          include/sluice/status.h include/sluice/v1/records.pb.h
          include/sluice/v1/service.pb.h lib/pkgconfig/sluice.pc
          lib/cmake/sluice/sluiceConfig.cmake lib/cmake/sluice/sluiceConfigVersion.cmake
          lib/libsluice_client.a)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install_consumer_test: ${f} was not installed under ${prefix}")
  endif()
endforeach()

# 2. Installed headers include only installed (or system) headers.
file(GLOB_RECURSE headers ${prefix}/include/*.h)
foreach(h ${headers})
  file(STRINGS ${h} includes REGEX "^#include \"")
  foreach(line ${includes})
    string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" inc "${line}")
    if(NOT EXISTS ${prefix}/include/${inc})
      message(FATAL_ERROR "install_consumer_test: ${h} includes \"${inc}\", which is not "
                          "installed (an internal or build-tree header)")
    endif()
  endforeach()
endforeach()

find_program(CXX NAMES c++ g++ clang++ REQUIRED)
find_program(PKG_CONFIG NAMES pkg-config REQUIRED)

# 3. pkg-config.
run("pkg-config --cflags --libs sluice" ${CMAKE_COMMAND} -E env
    PKG_CONFIG_PATH=${prefix}/lib/pkgconfig ${PKG_CONFIG} --cflags --libs sluice)
string(STRIP "${run_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run("compiling the consumer with pkg-config's flags" ${CXX} -std=c++20
    ${CONSUMER_DIR}/consumer.cc ${flags} -o ${WORK_DIR}/consumer_pkgconfig)
run("running the pkg-config consumer" ${WORK_DIR}/consumer_pkgconfig)
message(STATUS "pkg-config consumer: ${run_output}")

# 4. find_package(sluice).
run("configuring the find_package consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR}
    -B ${WORK_DIR}/cmake_consumer -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_BUILD_TYPE=Release)
run("building the find_package consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/cmake_consumer)
run("running the find_package consumer" ${WORK_DIR}/cmake_consumer/consumer)
message(STATUS "find_package consumer: ${run_output}")

message("install_consumer_test: passed")
