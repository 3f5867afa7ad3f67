// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
//
// Umbrella header: includes the whole public API.
#pragma once

#include "batch.hpp"
#include "datasets.hpp"
#include "init.hpp"
#include "kmeans.hpp"
#include "matrix.hpp"
#include "metrics.hpp"
#include "minibatch.hpp"
#include "params.hpp"
#include "version.hpp"
