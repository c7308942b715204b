// Private to the produce stage: delivery latencies in a fixed histogram, cheap
// enough to update on every delivery report.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace pfad::produce {

// Delivery latencies in log-linear buckets: 32 per power of two of microseconds
// (about 3% wide), from 1 µs to ~2^32 µs; no floating point per delivery.
class LatencyHistogram {
 public:
  void Add(int64_t nanos) {
    const uint64_t us = std::max<uint64_t>(1, static_cast<uint64_t>(std::max<int64_t>(0, nanos)) / 1000);
    const int exp = 63 - __builtin_clzll(us);  // floor(log2(us))
    const uint64_t sub = exp >= 5 ? (us >> (exp - 5)) & 31 : (us << (5 - exp)) & 31;
    ++counts_[std::min(kBuckets - 1, static_cast<size_t>(exp) * 32 + sub)];
    max_ns_ = std::max(max_ns_, nanos);
  }
  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    max_ns_ = std::max(max_ns_, other.max_ns_);
  }
  [[nodiscard]] double PercentileMs(double p) const {
    int64_t total = 0;
    for (auto c : counts_) total += c;
    if (total == 0) return 0;
    const auto rank = static_cast<int64_t>(std::ceil(p * static_cast<double>(total)));
    int64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const double low = std::ldexp(1.0 + static_cast<double>(i % 32) / 32.0, static_cast<int>(i / 32));
        return std::min(low * (1.0 + 0.5 / 32.0) / 1000.0, MaxMs());  // bucket middle, in ms
      }
    }
    return MaxMs();
  }
  [[nodiscard]] double MaxMs() const { return static_cast<double>(max_ns_) / 1e6; }

 private:
  static constexpr size_t kBuckets = 33 * 32;
  std::array<int64_t, kBuckets> counts_{};
  int64_t max_ns_ = 0;
};

}  // namespace pfad::produce
