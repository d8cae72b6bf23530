#include "core/auth_throttle.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>

namespace al {

namespace {

using clock = auth_throttle::clock;
using verdict = auth_throttle::verdict;

// Key tags: addresses and token prefixes share one table and one bound.
constexpr char address_tag = 'a';
constexpr char prefix_tag = 't';

throttle_policy clamped(throttle_policy p) {
  using namespace std::chrono_literals;
  p.free_failures = std::max(p.free_failures, 0);
  p.window = std::max(p.window, std::chrono::seconds{1});
  p.block_for = std::max(p.block_for, std::chrono::seconds{1});
  p.delay_step = std::max(p.delay_step, 0ms);
  p.max_delay = std::max(p.max_delay, 0ms);
  p.prefix_chars = std::max<std::size_t>(p.prefix_chars, 1);
  p.max_keys = std::max<std::size_t>(p.max_keys, 1);
  return p;
}

/// Whole seconds until `until`, rounded up, at least 1.
std::chrono::seconds seconds_until(clock::time_point until,
                                   clock::time_point now) {
  auto left = std::chrono::ceil<std::chrono::seconds>(until - now);
  return std::max(left, std::chrono::seconds{1});
}

/// SipHash-2-4 under a per-instance random key. Keys here are chosen by
/// clients (addresses, token prefixes); an unkeyed std::hash would let them
/// pile entries into one bucket and hold the lock for a long chain walk.
class keyed_hash {
public:
  keyed_hash() {
    std::random_device rd;
    k0_ = (std::uint64_t{rd()} << 32) ^ rd();
    k1_ = (std::uint64_t{rd()} << 32) ^ rd();
  }

  std::size_t operator()(const std::string& s) const noexcept {
    std::uint64_t v0 = k0_ ^ 0x736f6d6570736575ULL;
    std::uint64_t v1 = k1_ ^ 0x646f72616e646f6dULL;
    std::uint64_t v2 = k0_ ^ 0x6c7967656e657261ULL;
    std::uint64_t v3 = k1_ ^ 0x7465646279746573ULL;
    auto round = [&] {
      v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
      v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
      v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
      v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
    };
    auto absorb = [&](std::uint64_t m) {
      v3 ^= m;
      round();
      round();
      v0 ^= m;
    };
    auto n = s.size();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
      absorb(word(s.data() + i, 8));
    absorb((std::uint64_t{n} << 56) | word(s.data() + i, n - i));
    v2 ^= 0xff;
    for (int r = 0; r < 4; ++r)
      round();
    return static_cast<std::size_t>(v0 ^ v1 ^ v2 ^ v3);
  }

private:
  static std::uint64_t rotl(std::uint64_t x, int b) {
    return (x << b) | (x >> (64 - b));
  }

  /// Up to 8 bytes, little-endian.
  static std::uint64_t word(const char* p, std::size_t len) {
    std::uint64_t w = 0;
    for (std::size_t j = 0; j < len; ++j)
      w |= std::uint64_t{static_cast<unsigned char>(p[j])} << (8 * j);
    return w;
  }

  std::uint64_t k0_;
  std::uint64_t k1_;
};

/// The stricter of two verdicts.
verdict merge(const verdict& x, const verdict& y) {
  verdict v;
  v.blocked = x.blocked || y.blocked;
  v.retry_after = std::max(x.retry_after, y.retry_after);
  v.delay = v.blocked ? std::chrono::milliseconds{0}
                      : std::max(x.delay, y.delay);
  return v;
}

} // namespace

// One table keyed by tag + address or tag + prefix, plus an index ordered by
// when each entry expires. The index gives eviction order in O(log n):
// expired entries sit at its front, then those closest to expiring.
struct auth_throttle::impl {
  using index = std::multimap<clock::time_point, const std::string*>;

  struct entry {
    int failures = 0;
    bool blocked = false;
    clock::time_point window_start{};
    clock::time_point blocked_until{};
    index::iterator pos; // this entry's place in by_expiry
  };

  using table = std::unordered_map<std::string, entry, keyed_hash>;

  explicit impl(throttle_policy p)
    : policy(clamped(p)) {}

  clock::time_point expiry(const entry& e) const {
    return e.blocked ? e.blocked_until : e.window_start + policy.window;
  }

  bool expired(const entry& e, clock::time_point now) const {
    return now >= expiry(e);
  }

  /// Sets `key` in the scratch buffer (reused under the lock, so lookups on
  /// the valid path do not allocate).
  const std::string& make_key(char tag, std::string_view s) {
    scratch.assign(1, tag);
    scratch.append(s.data(), s.size());
    return scratch;
  }

  void erase(table::iterator it) {
    by_expiry.erase(it->second.pos);
    keys.erase(it);
  }

  /// Moves `it` in the index to its current expiry.
  void reindex(table::iterator it) {
    by_expiry.erase(it->second.pos);
    it->second.pos = by_expiry.emplace(expiry(it->second), &it->first);
  }

  /// A fresh window from `now`.
  void restart(table::iterator it, clock::time_point now) {
    auto& e = it->second;
    e.failures = 0;
    e.blocked = false;
    e.window_start = now;
    reindex(it);
  }

  /// Drops up to `n` expired entries (amortised cleanup).
  void purge(clock::time_point now, int n) {
    while (n-- > 0 && !by_expiry.empty() && by_expiry.begin()->first <= now)
      erase(keys.find(*by_expiry.begin()->second));
  }

  /// Frees one slot when full: the front of the index is an expired entry
  /// if there is one, else the entry closest to expiring.
  void make_room() {
    while (keys.size() >= policy.max_keys && !by_expiry.empty())
      erase(keys.find(*by_expiry.begin()->second));
  }

  std::chrono::milliseconds delay_for(int failures) const {
    auto over = failures - policy.free_failures;
    if (over <= 0 || policy.delay_step.count() == 0)
      return std::chrono::milliseconds{0};
    if (over >= policy.max_delay / policy.delay_step)
      return policy.max_delay;
    return std::min(policy.max_delay, policy.delay_step * over);
  }

  /// check() for one key: blocked or not; forgets it when expired.
  verdict look(char tag, std::string_view s, clock::time_point now) {
    auto it = keys.find(make_key(tag, s));
    if (it == keys.end())
      return {};
    if (expired(it->second, now)) {
      erase(it);
      return {};
    }
    if (!it->second.blocked)
      return {};
    return {true, seconds_until(it->second.blocked_until, now), {}};
  }

  /// failure() for one key: counts it and returns its verdict.
  verdict count(char tag, std::string_view s, clock::time_point now) {
    auto it = keys.find(make_key(tag, s));
    if (it == keys.end()) {
      make_room();
      entry e;
      e.window_start = now;
      it = keys.emplace(scratch, e).first;
      it->second.pos = by_expiry.emplace(expiry(it->second), &it->first);
    } else if (expired(it->second, now)) {
      restart(it, now);
    } else if (it->second.blocked) {
      // Raced past check(): stays blocked, the block is not extended.
      return {true, seconds_until(it->second.blocked_until, now), {}};
    }
    auto& e = it->second;
    ++e.failures;
    if (e.failures >= policy.block_after) {
      e.blocked = true;
      e.blocked_until = now + policy.block_for;
      reindex(it);
      return {true, policy.block_for, {}};
    }
    return {false, {}, delay_for(e.failures)};
  }

  std::string_view prefix(std::string_view token) const {
    return token.substr(0, policy.prefix_chars);
  }

  const throttle_policy policy;
  mutable std::mutex mtx;
  table keys;          // guarded by mtx
  index by_expiry;     // guarded by mtx
  std::string scratch; // guarded by mtx
  std::atomic<std::uint64_t> blocked_total{0};
};

auth_throttle::auth_throttle(throttle_policy p)
  : impl_(std::make_unique<impl>(p)) {}

auth_throttle::~auth_throttle() = default;

verdict auth_throttle::check(std::string_view address, std::string_view token,
                             clock::time_point now) {
  auto& d = *impl_;
  if (!d.policy.enabled())
    return {};
  verdict v;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    if (!address.empty())
      v = d.look(address_tag, address, now);
    if (!token.empty())
      v = merge(v, d.look(prefix_tag, d.prefix(token), now));
  }
  if (v.blocked)
    d.blocked_total.fetch_add(1, std::memory_order_relaxed);
  return v;
}

verdict auth_throttle::failure(std::string_view address, std::string_view token,
                               clock::time_point now) {
  auto& d = *impl_;
  if (!d.policy.enabled())
    return {};
  verdict v;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    d.purge(now, 2);
    if (!address.empty())
      v = d.count(address_tag, address, now);
    if (!token.empty())
      v = merge(v, d.count(prefix_tag, d.prefix(token), now));
  }
  if (v.blocked)
    d.blocked_total.fetch_add(1, std::memory_order_relaxed);
  return v;
}

void auth_throttle::success(std::string_view address, clock::time_point now) {
  auto& d = *impl_;
  if (!d.policy.enabled() || address.empty())
    return;
  std::lock_guard<std::mutex> guard{d.mtx};
  auto it = d.keys.find(d.make_key(address_tag, address));
  if (it == d.keys.end())
    return;
  if (it->second.blocked && !d.expired(it->second, now))
    return;
  d.erase(it);
}

std::size_t auth_throttle::tracked() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->keys.size();
}

std::uint64_t auth_throttle::blocked_total() const noexcept {
  return impl_->blocked_total.load(std::memory_order_relaxed);
}

const throttle_policy& auth_throttle::policy() const noexcept {
  return impl_->policy;
}

} // namespace al
