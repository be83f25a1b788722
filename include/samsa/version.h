#pragma once
// The project version from CMakeLists.txt (project(... VERSION ...)).
#ifndef SAMSA_VERSION
#error "SAMSA_VERSION is defined by the build (see src/util/CMakeLists.txt)"
#endif
