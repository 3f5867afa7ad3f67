// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Empty clusters take the rows farthest from their centroids, as scikit-learn does.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "../params.hpp"
#include "exchange.hpp"
#include "problem.hpp"

namespace lloyd {
namespace detail {

/// Moves rows into the `empty` clusters: the farthest rows first (largest dist, then
/// lowest global index; positive weight; positive distance unless Metric::Dot, where
/// any row may go, the least similar first), never the last row of a cluster
/// (`members`: counts over all processes). Changes the labels of the local rows moved;
/// returns how many moved over all processes.
///
/// Each process offers its farthest candidates; when the merged list runs past what
/// some process offered before the empty clusters are filled, all offer twice as many
/// (with one process: all its candidates are sorted lazily in the same way).
template <class T>
std::size_t relocate_rows(Exchange<T>& ex, const Problem<T>& P, const std::vector<std::size_t>& empty,
                          const std::vector<std::size_t>& members, std::int32_t* labels, const T* dist) {
  struct Cand {
    double dist;
    std::uint64_t index;
    std::int64_t label;
  };
  auto before = [](const Cand& a, const Cand& b) { return a.dist > b.dist || (a.dist == b.dist && a.index < b.index); };
  std::vector<Cand> local;
  for (std::size_t i = 0; i < P.n; ++i)
    if ((P.metric == Metric::Dot || dist[i] > 0) && P.weight(i) > 0)
      local.push_back({static_cast<double>(dist[i]), P.first_row + i, labels[i]});
  for (std::size_t offer = 4 * empty.size() + 64;; offer *= 2) {
    const std::size_t mine = std::min(offer, local.size());
    std::partial_sort(local.begin(), local.begin() + static_cast<std::ptrdiff_t>(mine), local.end(), before);
    const std::vector<Cand> offered = gather(ex, std::vector<Cand>(local.begin(), local.begin() + static_cast<std::ptrdiff_t>(mine)));
    struct Offer {
      std::uint64_t count;
      unsigned char more;
    };
    const std::vector<Offer> offers = gather(ex, std::vector<Offer>{{mine, local.size() > mine}});
    // Nothing past the earliest last offer of a process that holds more may be used
    // before that process offers more.
    bool limited = false;
    Cand limit{};
    std::size_t at = 0;
    for (const Offer& o : offers) {
      if (o.more && o.count > 0) {
        const Cand& last = offered[at + o.count - 1];
        if (!limited || before(last, limit)) limit = last;
        limited = true;
      }
      at += o.count;
    }
    std::vector<Cand> merged = offered;
    std::sort(merged.begin(), merged.end(), before);
    std::vector<std::size_t> count = members;
    std::vector<std::pair<std::uint64_t, std::int32_t>> moves;
    for (const Cand& c : merged) {
      if (moves.size() == empty.size() || (limited && before(limit, c))) break;
      const std::size_t old = static_cast<std::size_t>(c.label);
      if (count[old] <= 1) continue;
      --count[old];
      moves.emplace_back(c.index, static_cast<std::int32_t>(empty[moves.size()]));
    }
    if (moves.size() < empty.size() && limited) continue;  // short of rows: ask for more
    for (const auto& mv : moves)
      if (mv.first >= P.first_row && mv.first < P.first_row + P.n) labels[mv.first - P.first_row] = mv.second;
    return moves.size();
  }
}

}  // namespace detail
}  // namespace lloyd
