// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

/// Library version; CMake parses these three lines.
#define LLOYD_VERSION_MAJOR 0
#define LLOYD_VERSION_MINOR 1
#define LLOYD_VERSION_PATCH 0

/// The version as one integer, e.g. 100 for 0.1.0.
#define LLOYD_VERSION (LLOYD_VERSION_MAJOR * 10000 + LLOYD_VERSION_MINOR * 100 + LLOYD_VERSION_PATCH)
