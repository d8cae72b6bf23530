#include "bench/bench_util.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace al::bench {

histogram::histogram(std::int64_t max_ms)
  : buckets_(static_cast<std::size_t>(max_ms * 1000 / bucket_us) + 1, 0) {}

void histogram::add(std::int64_t us) noexcept {
  if (us < 0)
    us = 0;
  ++count_;
  sum_us_ += us;
  if (us > max_us_)
    max_us_ = us;
  auto i = static_cast<std::size_t>(us / bucket_us);
  if (i < buckets_.size())
    ++buckets_[i];
  else
    ++overflow_;
}

void histogram::merge(const histogram& other) {
  auto n = std::min(buckets_.size(), other.buckets_.size());
  for (std::size_t i = 0; i < n; ++i)
    buckets_[i] += other.buckets_[i];
  for (std::size_t i = n; i < other.buckets_.size(); ++i)
    overflow_ += other.buckets_[i];
  overflow_ += other.overflow_;
  count_ += other.count_;
  sum_us_ += other.sum_us_;
  max_us_ = std::max(max_us_, other.max_us_);
}

double histogram::percentile_ms(double q) const {
  if (count_ == 0)
    return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * count_));
  if (rank == 0)
    rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) // upper edge of the bucket, capped by the true max
      return std::min(static_cast<double>((i + 1) * bucket_us),
                      static_cast<double>(max_us_))
             / 1000.0;
  }
  return max_ms();
}

double histogram::mean_ms() const noexcept {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_us_ / count_) / 1000.0;
}

std::uint64_t histogram::count_above_ms(double ms) const {
  auto limit = static_cast<std::int64_t>(ms * 1000);
  std::uint64_t n = overflow_;
  // Buckets wholly above the limit (a sample exactly at the limit is not
  // above it: the bucket holding `limit` counts only when it starts above).
  for (std::size_t i = 0; i < buckets_.size(); ++i)
    if (static_cast<std::int64_t>(i) * bucket_us > limit)
      n += buckets_[i];
  return n;
}

boost::json::object histogram::summary() const {
  return {{"count", count_},
          {"p50", round3(percentile_ms(0.50))},
          {"p90", round3(percentile_ms(0.90))},
          {"p99", round3(percentile_ms(0.99))},
          {"max", round3(max_ms())},
          {"mean", round3(mean_ms())}};
}

double proc_cpu_seconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)),
                  std::istreambuf_iterator<char>());
  auto paren = all.rfind(')');
  if (paren == std::string::npos)
    return -1;
  std::istringstream in(all.substr(paren + 2));
  // Fields after "(comm)": state(3) ppid pgrp session tty tpgid flags minflt
  // cminflt majflt cmajflt utime(14) stime(15).
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14)
      utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15)
      stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime)
         / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long proc_rss_kib(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

flags::flags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0)
      continue;
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      items_.emplace_back(a.substr(2, eq - 2), a.substr(eq + 1));
    } else if (i + 1 < argc
               && std::string_view{argv[i + 1]}.rfind("--", 0) != 0) {
      items_.emplace_back(a.substr(2), argv[i + 1]);
      ++i;
    } else {
      items_.emplace_back(a.substr(2), "1");
    }
  }
}

std::string flags::str(std::string_view name, std::string fallback) const {
  for (auto& [k, v] : items_)
    if (k == name)
      return v;
  return fallback;
}

long flags::num(std::string_view name, long fallback) const {
  auto s = str(name);
  return s.empty() ? fallback : std::strtol(s.c_str(), nullptr, 10);
}

double flags::real(std::string_view name, double fallback) const {
  auto s = str(name);
  return s.empty() ? fallback : std::strtod(s.c_str(), nullptr);
}

bool flags::has(std::string_view name) const {
  for (auto& [k, v] : items_)
    if (k == name)
      return true;
  return false;
}

double round3(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

} // namespace al::bench
