# strata_module(NAME name DEPS targets...)
#   A static library from every *.cc in the calling directory except *_test.cc, and, when
#   there are *_test.cc files, one GoogleTest binary `<name>_test` registered with CTest.
#   Files are globbed with CONFIGURE_DEPENDS so adding a file needs no CMake edit.
function(strata_module)
  cmake_parse_arguments(M "" "NAME" "DEPS;TEST_DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(tests)
    list(REMOVE_ITEM srcs ${tests})
  endif()
  if(srcs)
    add_library(${M_NAME} STATIC ${srcs})
    target_include_directories(${M_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${M_NAME} PUBLIC ${M_DEPS} Threads::Threads)
  else()
    # Headers only (so far): an interface library keeps dependents linking.
    add_library(${M_NAME} INTERFACE)
    target_include_directories(${M_NAME} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${M_NAME} INTERFACE ${M_DEPS} Threads::Threads)
  endif()
  if(tests)
    strata_test(NAME ${M_NAME}_test SOURCES ${tests} DEPS ${M_NAME} ${M_TEST_DEPS})
  endif()
endfunction()

# strata_test(NAME name SOURCES files... DEPS targets...)
#   One GoogleTest binary; each TEST is discovered as its own CTest case.
function(strata_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  include(GoogleTest)
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "STRATA_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
