# test_install_consumer: install this build into a temporary prefix, then use
# it from outside the tree the two ways a user would:
#   1. CMake: tests/consumer found with find_package(laperm) through
#      CMAKE_PREFIX_PATH, linked to laperm::laperm, to laperm::laperm_static
#      and to the whole static archive (so every link dependency the package
#      declares must resolve), built and run;
#   2. pkg-config: `pkg-config --cflags --libs laperm` with PKG_CONFIG_PATH
#      set must name the prefix's include and lib directories; main.c compiled
#      and linked with them (shared), and with `--static --libs` against the
#      whole liblaperm.a, and run.
#
# cmake -DBUILD_DIR=<build> -DCONSUMER_DIR=<tests/consumer> -DWORK_DIR=<tmp>
#       -DC_COMPILER=<cc> [-DCONFIG=<cfg>] [-DSANITIZE=<list>] -P install_consumer.cmake
cmake_minimum_required(VERSION 3.25)

foreach(v BUILD_DIR CONSUMER_DIR WORK_DIR C_COMPILER)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "install_consumer.cmake: -D${v}=... is required")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "${what} failed (exit ${rc}): ${cmd}\n--- stdout\n${out}\n--- stderr\n${err}")
  endif()
  set(RUN_OUT "${out}" PARENT_SCOPE)
endfunction()

function(expect what text needle)
  string(FIND "${text}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${what}: expected '${needle}' in:\n${text}")
  endif()
endfunction()

set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(config_args "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()
set(extra_flags "")
if(SANITIZE)
  set(extra_flags "-fsanitize=${SANITIZE}")
endif()

# ---- install ---------------------------------------------------------------------------
run("cmake --install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}" ${config_args})
file(GLOB_RECURSE config_file "${prefix}/*/lapermConfig.cmake")
file(GLOB_RECURSE version_file "${prefix}/*/lapermConfigVersion.cmake")
file(GLOB_RECURSE targets_file "${prefix}/*/lapermTargets.cmake")
file(GLOB_RECURSE pc_file "${prefix}/*/pkgconfig/laperm.pc")
file(GLOB_RECURSE static_lib "${prefix}/*/liblaperm.a")
file(GLOB_RECURSE shared_lib "${prefix}/*/liblaperm.so")
foreach(f config_file version_file targets_file pc_file static_lib shared_lib)
  list(LENGTH ${f} n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "install: expected one ${f} under ${prefix}, found '${${f}}'")
  endif()
endforeach()
foreach(f include/laperm/laperm.h bin/laperm)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "install: ${prefix}/${f} missing")
  endif()
endforeach()
# The exported targets never mention build-tree-only things.
file(READ "${targets_file}" targets_text)
foreach(bad laperm_flags "${BUILD_DIR}")
  string(FIND "${targets_text}" "${bad}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "install: ${targets_file} mentions '${bad}'")
  endif()
endforeach()

# ---- CMake consumer -----------------------------------------------------------------------
foreach(mode shared static static-whole)
  set(b "${WORK_DIR}/build-${mode}")
  run("configure consumer (${mode})" "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${b}"
    "-DCMAKE_PREFIX_PATH=${prefix}" "-DLAPERM_LINK=${mode}" "-DCMAKE_C_COMPILER=${C_COMPILER}"
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    "-DCMAKE_C_FLAGS=${extra_flags}" "-DCMAKE_EXE_LINKER_FLAGS=${extra_flags}")
  file(STRINGS "${b}/CMakeCache.txt" dir_line REGEX "^laperm_DIR:")
  expect("consumer (${mode}) found the installed package" "${dir_line}" "${prefix}/")
  run("build consumer (${mode})" "${CMAKE_COMMAND}" --build "${b}" ${config_args})
  file(GLOB_RECURSE exe "${b}/consumer" "${b}/*/consumer")
  list(GET exe 0 exe)
  run("run consumer (${mode})" "${exe}")
  expect("consumer (${mode}) output" "${RUN_OUT}" "laperm 0.1")
  expect("consumer (${mode}) output" "${RUN_OUT}" "'io error'")
  message(STATUS "cmake consumer (${mode}): ${RUN_OUT}")
endforeach()

# ---- pkg-config ----------------------------------------------------------------------------
find_program(PKG_CONFIG_EXE NAMES pkg-config pkgconf)
if(NOT PKG_CONFIG_EXE)
  message(STATUS "pkg-config not found: pkg-config check skipped")
  return()
endif()
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
run("pkg-config" "${PKG_CONFIG_EXE}" --cflags --libs laperm)
string(STRIP "${RUN_OUT}" flags)
message(STATUS "pkg-config --cflags --libs laperm: ${flags}")
expect("pkg-config --cflags" "${flags}" "-I${prefix}/include")
get_filename_component(lib_dir "${static_lib}" DIRECTORY)
expect("pkg-config --libs" "${flags}" "-L${lib_dir}")
expect("pkg-config --libs" "${flags}" "-llaperm")
run("pkg-config --modversion" "${PKG_CONFIG_EXE}" --modversion laperm)
expect("pkg-config --modversion" "${RUN_OUT}" "0.1")

separate_arguments(flag_list UNIX_COMMAND "${flags}")
separate_arguments(extra_list UNIX_COMMAND "${extra_flags}")
run("cc with pkg-config flags (shared)" "${C_COMPILER}" ${extra_list} "${CONSUMER_DIR}/main.c" -o "${WORK_DIR}/pc-shared"
  ${flag_list} "-Wl,-rpath,${lib_dir}")
run("run pkg-config consumer (shared)" "${WORK_DIR}/pc-shared")
expect("pkg-config consumer (shared) output" "${RUN_OUT}" "laperm 0.1")

run("pkg-config --static" "${PKG_CONFIG_EXE}" --static --cflags --libs laperm)
string(STRIP "${RUN_OUT}" sflags)
message(STATUS "pkg-config --static --cflags --libs laperm: ${sflags}")
separate_arguments(sflag_list UNIX_COMMAND "${sflags}")
list(TRANSFORM sflag_list REPLACE "^-llaperm$" "-Wl,--whole-archive;${static_lib};-Wl,--no-whole-archive")
run("cc with pkg-config --static flags (whole liblaperm.a)" "${C_COMPILER}" ${extra_list} "${CONSUMER_DIR}/main.c"
  -o "${WORK_DIR}/pc-static" ${sflag_list})
run("run pkg-config consumer (static)" "${WORK_DIR}/pc-static")
expect("pkg-config consumer (static) output" "${RUN_OUT}" "laperm 0.1")
message(STATUS "install consumer: all checks passed")
