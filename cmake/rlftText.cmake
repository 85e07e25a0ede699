# Defines rlft::text, the Hugging Face tokenizers of include/rlft/text/, when its two libraries
# are found: PCRE2 for the split patterns (Unicode properties, look-ahead) and utf8proc for the
# Unicode data (normalization forms, categories). Sets RLFT_HAS_TEXT for the rest of the build.

set(RLFT_HAS_TEXT OFF)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(RLFT_PCRE2 QUIET IMPORTED_TARGET libpcre2-8)
  pkg_check_modules(RLFT_UTF8PROC QUIET IMPORTED_TARGET libutf8proc)
endif()
if(NOT (RLFT_PCRE2_FOUND AND RLFT_UTF8PROC_FOUND))
  message(STATUS "rlft: PCRE2 or utf8proc not found (Debian: libpcre2-dev libutf8proc-dev); no rlft::text")
  return()
endif()

add_library(rlft_text INTERFACE)
add_library(rlft::text ALIAS rlft_text)
set_target_properties(rlft_text PROPERTIES EXPORT_NAME text)
target_link_libraries(rlft_text INTERFACE rlft::rlft PkgConfig::RLFT_PCRE2 PkgConfig::RLFT_UTF8PROC)
set(RLFT_HAS_TEXT ON)
