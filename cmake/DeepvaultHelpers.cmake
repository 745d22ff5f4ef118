# Helpers shared by every module's CMakeLists.txt.

# Warnings and sanitizer flags for deepvault's own code (never applied to third-party headers,
# which are included as SYSTEM).
add_library(dv_build_flags INTERFACE)
target_compile_options(dv_build_flags INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers)
target_include_directories(dv_build_flags INTERFACE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
if(DEEPVAULT_SANITIZE)
  target_compile_options(dv_build_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                   -fno-sanitize-recover=undefined)
  target_link_options(dv_build_flags INTERFACE -fsanitize=address,undefined)
endif()

# dv_add_library(NAME SOURCES a.cc b.cc ... [DEPS lib ...] [PRIVATE_DEPS lib ...])
# A static library of deepvault code. Headers are included as "module/file.h" from src/ or
# "deepvault/file.h" from include/.
function(dv_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC dv_build_flags ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# dv_add_test(NAME SOURCES a_test.cc ... [DEPS lib ...] [LABELS l ...])
# A GoogleTest executable; every TEST() becomes one ctest test. Tests find their data through
# tests/test_util.h (paths compiled into dv_test_main; DV_TEST_FIXTURES / DV_SHARED_DIR / DV_BIN_DIR
# environment variables override them).
function(dv_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE dv_build_flags dv_test_main ${ARG_DEPS})
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES
      LABELS "unit;${ARG_LABELS}")
endfunction()
