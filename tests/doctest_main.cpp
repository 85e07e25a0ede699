// The one translation unit that holds doctest's runner for rlft's CPU test executables.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
