// What `pfad --version` names of the build itself: `git describe --always --dirty`
// of the tree it was built from (the project version outside a git checkout) and
// the CMake build type. Defined in a file cmake/PfadVersion.cmake writes at build time.
#pragma once

namespace pfad::cli {

extern const char* const kBuildVersion;
extern const char* const kBuildType;

}  // namespace pfad::cli
