# Shared compile settings for every leancnn target: warnings, sanitizers, no -march=native.
set(LEANCNN_WARNINGS -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor)
if(LEANCNN_WERROR)
  list(APPEND LEANCNN_WARNINGS -Werror)
endif()
set(LEANCNN_SAN_FLAGS "")
if(LEANCNN_SANITIZE)
  set(LEANCNN_SAN_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
endif()

# leancnn_settings(target): warnings and sanitizer flags.
function(leancnn_settings target)
  target_compile_options(${target} PRIVATE ${LEANCNN_WARNINGS} ${LEANCNN_SAN_FLAGS})
  if(LEANCNN_SANITIZE)
    target_link_options(${target} PUBLIC ${LEANCNN_SAN_FLAGS})
  endif()
endfunction()

# leancnn_library(name SOURCES ... DEPS ... PRIVATE_DEPS ...)
# A layer library: public headers in <folder>/include/leancnn/<name>/, sources beside them.
function(leancnn_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(leancnn_${name} STATIC ${ARG_SOURCES})
  target_include_directories(leancnn_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(leancnn_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  set_target_properties(leancnn_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  leancnn_settings(leancnn_${name})
endfunction()
