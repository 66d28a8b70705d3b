# Compile settings shared by every runvoy target: warnings, -Werror in CI, sanitizers.
function(runvoy_target_defaults target)
  # Aggregates with default member initializers are meant to be partly initialised.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                         -Wno-missing-field-initializers)
  if(RUNVOY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  target_compile_definitions(${target} PUBLIC BOOST_ASIO_NO_DEPRECATED)
  if(RUNVOY_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${RUNVOY_SANITIZE} -fno-omit-frame-pointer)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND RUNVOY_SANITIZE MATCHES "undefined")
      # clang 14 cannot emit UBSan's function check for coroutine frames.
      target_compile_options(${target} PRIVATE -fno-sanitize=function)
    endif()
    target_link_options(${target} PRIVATE -fsanitize=${RUNVOY_SANITIZE})
  endif()
endfunction()

# runvoy_library(NAME SOURCES... DEPS ...): a module of src/ as a static library.
function(runvoy_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_include_directories(${name} SYSTEM PUBLIC ${TL_EXPECTED_INCLUDE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  runvoy_target_defaults(${name})
endfunction()

# runvoy_test(NAME SOURCES... DEPS ... [LABELS ...] [FIXTURES ...]): a GoogleTest executable
# registered with ctest. FIXTURES names ctest fixtures its tests require (e.g. "postgres", see
# tests/support/CMakeLists.txt): ctest runs their setup first, even under -R or -L.
function(runvoy_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS;FIXTURES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  runvoy_target_defaults(${name})
  set(labels unit)
  if(ARG_LABELS)
    set(labels ${ARG_LABELS})
  endif()
  set(properties LABELS "${labels}")
  if(ARG_FIXTURES)
    list(APPEND properties FIXTURES_REQUIRED "${ARG_FIXTURES}")
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ${properties})
  if("unit" IN_LIST labels)
    add_dependencies(runvoy_unit_tests ${name})
  endif()
endfunction()
