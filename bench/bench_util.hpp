#pragma once

// Small helpers shared by the bench tools: a fixed-resolution latency
// histogram (no allocation per sample), /proc sampling of another process
// (CPU seconds, RSS), command-line flags and a JSON-friendly summary.

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace al::bench {

using clock = std::chrono::steady_clock;

/// Microseconds between two steady_clock points (may be negative).
inline std::int64_t micros(clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

/// Latencies in microseconds, 10 µs buckets up to `max_ms`, one overflow
/// bucket; the exact maximum is kept. add() never allocates.
class histogram {
public:
  explicit histogram(std::int64_t max_ms = 5000);

  void add(std::int64_t us) noexcept;
  void merge(const histogram& other);

  std::uint64_t count() const noexcept {
    return count_;
  }
  /// Value (ms) below which a fraction `q` of the samples lie; 0 when empty.
  double percentile_ms(double q) const;
  double max_ms() const noexcept {
    return static_cast<double>(max_us_) / 1000.0;
  }
  double mean_ms() const noexcept;
  /// Samples strictly greater than `ms`.
  std::uint64_t count_above_ms(double ms) const;

  /// {"count","p50","p90","p99","max","mean"} in ms.
  boost::json::object summary() const;

private:
  static constexpr std::int64_t bucket_us = 10;
  std::vector<std::uint32_t> buckets_;
  std::uint64_t overflow_ = 0;
  std::uint64_t count_ = 0;
  std::int64_t max_us_ = 0;
  long double sum_us_ = 0;
};

/// utime + stime of `pid` in seconds (from /proc/PID/stat); -1 if unreadable.
double proc_cpu_seconds(int pid);

/// VmRSS of `pid` in KiB (from /proc/PID/status); -1 if unreadable.
long proc_rss_kib(int pid);

/// This process's user + system CPU seconds.
double self_cpu_seconds();

/// `--name value` flags; a flag given without a value reads as "1".
class flags {
public:
  flags(int argc, char** argv);

  std::string str(std::string_view name, std::string fallback = {}) const;
  long num(std::string_view name, long fallback) const;
  double real(std::string_view name, double fallback) const;
  bool has(std::string_view name) const;

private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// Rounds to 3 decimals (for readable JSON).
double round3(double v);

} // namespace al::bench
