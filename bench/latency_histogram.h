// Fixed-size log-linear latency histogram for the benchmark tools.
//
// Values (any unit; the tools record nanoseconds) below 128 are counted
// exactly. Above that, each power of two is split into 64 equal buckets, so a
// reported percentile is at most 1/64 (~1.6%) above the true sample, and
// never above the exact maximum. Memory is constant (~30 KiB) whatever the
// number of samples, and record() is a few instructions.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace samsa::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;                        // 128 exact values
  static constexpr uint64_t kSubCount = uint64_t{1} << kSubBits;
  static constexpr uint64_t kHalf = kSubCount / 2;          // 64 buckets per octave
  static constexpr int kMaxShift = 63 - (kSubBits - 1);     // shift for 2^63
  static constexpr size_t kBuckets = kMaxShift * kHalf + kSubCount;

  // Index of the bucket holding v.
  static constexpr size_t bucket_of(uint64_t v) {
    if (v < kSubCount) return static_cast<size_t>(v);
    const int msb = std::bit_width(v) - 1;                  // >= kSubBits
    const int shift = msb - (kSubBits - 1);                 // >= 1
    return static_cast<size_t>(shift) * kHalf + static_cast<size_t>(v >> shift);
  }

  // Smallest and largest value that fall into bucket i.
  static constexpr uint64_t bucket_low(size_t i) {
    if (i < kSubCount) return i;
    const uint64_t shift = i / kHalf - 1;
    const uint64_t mant = i - shift * kHalf;                // in [64, 128)
    return mant << shift;
  }
  static constexpr uint64_t bucket_high(size_t i) {
    if (i < kSubCount) return i;
    const uint64_t shift = i / kHalf - 1;
    return bucket_low(i) + ((uint64_t{1} << shift) - 1);
  }

  void record(uint64_t v) {
    ++counts_[bucket_of(v)];
    ++count_;
    sum_ += static_cast<long double>(v);
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }

  void merge(const LatencyHistogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }

  void reset() { *this = LatencyHistogram{}; }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_ / count_) : 0.0; }

  // The value at percentile p (0..100, nearest-rank): the upper bound of the
  // bucket holding the ceil(p/100 * count)-th smallest sample, clamped to the
  // exact [min, max]. 0 for an empty histogram; p >= 100 gives max().
  uint64_t percentile(double p) const {
    if (count_ == 0) return 0;
    if (!(p > 0.0)) return min();
    if (p >= 100.0) return max_;
    auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(bucket_high(i), min(), max_);
    }
    return max_;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  long double sum_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace samsa::bench
