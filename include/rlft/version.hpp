// rlft version. CMakeLists.txt reads the project version from these three lines, so this
// header is the single place where the version is written.
#pragma once

#define RLFT_VERSION_MAJOR 0
#define RLFT_VERSION_MINOR 1
#define RLFT_VERSION_PATCH 0

#define RLFT_VERSION (RLFT_VERSION_MAJOR * 10000 + RLFT_VERSION_MINOR * 100 + RLFT_VERSION_PATCH)
