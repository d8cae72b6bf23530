#include "core/auth_throttle.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

namespace al {
namespace {

using namespace std::chrono_literals;
using clock = auth_throttle::clock;

// A fixed origin; every test moves time by adding to it (no sleeps).
const clock::time_point t0 = clock::time_point{} + 1000h;

// Tokens shaped like ours: "al_" + random; the first 8 chars are the prefix.
const std::string token_a = "al_AAAAAxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
const std::string token_b = "al_BBBBByyyyyyyyyyyyyyyyyyyyyyyyyyyy";

std::string address(int i) {
  return "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
}

TEST(AuthThrottle, FreeFailuresThenGrowingCappedDelay) {
  auth_throttle t; // 5 free, 250 ms steps, 3 s cap, block at 20
  for (int i = 1; i <= 5; ++i) {
    auto v = t.failure("1.2.3.4", token_a, t0);
    EXPECT_FALSE(v.blocked) << i;
    EXPECT_EQ(v.delay, 0ms) << i;
  }
  EXPECT_EQ(t.failure("1.2.3.4", token_a, t0).delay, 250ms);
  EXPECT_EQ(t.failure("1.2.3.4", token_a, t0).delay, 500ms);
  EXPECT_EQ(t.failure("1.2.3.4", token_a, t0).delay, 750ms);
  for (int i = 9; i <= 19; ++i) {
    auto v = t.failure("1.2.3.4", token_a, t0);
    EXPECT_FALSE(v.blocked) << i;
    EXPECT_EQ(v.delay,
              std::min<std::chrono::milliseconds>(3000ms, (i - 5) * 250ms))
      << i;
  }
  // Not blocked yet: the check before credentials still lets it through.
  EXPECT_FALSE(t.check("1.2.3.4", token_a, t0).blocked);
  EXPECT_EQ(t.blocked_total(), 0u);
}

TEST(AuthThrottle, BlockAfterThenRecoversWhenBlockForPasses) {
  auth_throttle t;
  for (int i = 1; i < 20; ++i)
    ASSERT_FALSE(t.failure("1.2.3.4", token_a, t0 + 1s).blocked);
  auto v = t.failure("1.2.3.4", token_a, t0 + 1s);
  EXPECT_TRUE(v.blocked);
  EXPECT_EQ(v.retry_after, 300s);
  EXPECT_EQ(v.delay, 0ms);

  // Blocked by address, whatever token comes next (even none).
  auto c = t.check("1.2.3.4", token_b, t0 + 1s + 100s);
  EXPECT_TRUE(c.blocked);
  EXPECT_EQ(c.retry_after, 200s);
  EXPECT_TRUE(t.check("1.2.3.4", "", t0 + 1s + 100s).blocked);
  // Rounded up, never 0.
  c = t.check("1.2.3.4", token_b, t0 + 1s + 300s - 1ms);
  EXPECT_TRUE(c.blocked);
  EXPECT_EQ(c.retry_after, 1s);
  EXPECT_EQ(t.blocked_total(), 4u);

  // Once block_for has passed the key recovers fully.
  EXPECT_FALSE(t.check("1.2.3.4", token_a, t0 + 1s + 300s).blocked);
  EXPECT_EQ(t.tracked(), 0u);
  auto after = t.failure("1.2.3.4", token_a, t0 + 1s + 300s);
  EXPECT_FALSE(after.blocked);
  EXPECT_EQ(after.delay, 0ms);
}

TEST(AuthThrottle, OtherAddressWithOtherPrefixUnaffected) {
  auth_throttle t;
  for (int i = 0; i < 20; ++i)
    t.failure("1.2.3.4", token_a, t0);
  ASSERT_TRUE(t.check("1.2.3.4", token_b, t0).blocked);
  // Its prefix is blocked too: a valid token sharing it waits as well.
  EXPECT_TRUE(t.check("5.6.7.8", token_a, t0).blocked);

  auto c = t.check("5.6.7.8", token_b, t0);
  EXPECT_FALSE(c.blocked);
  EXPECT_EQ(c.delay, 0ms);
  auto f = t.failure("5.6.7.8", token_b, t0);
  EXPECT_FALSE(f.blocked);
  EXPECT_EQ(f.delay, 0ms);
}

TEST(AuthThrottle, ManyAddressesOneTokenPrefixBlockThePrefix) {
  auth_throttle t;
  // A botnet: 20 addresses, one failure each, all guessing after "al_AAAAA".
  for (int i = 0; i < 19; ++i) {
    auto v = t.failure(address(i), token_a + std::to_string(i), t0);
    EXPECT_FALSE(v.blocked) << i;
    EXPECT_EQ(v.delay, i < 5 ? 0ms : std::min(3000ms, (i - 4) * 250ms)) << i;
  }
  auto v = t.failure(address(19), "al_AAAAAzzz", t0);
  EXPECT_TRUE(v.blocked);
  EXPECT_EQ(v.retry_after, 300s);

  // Any address presenting that prefix is refused before the check...
  EXPECT_TRUE(t.check("9.9.9.9", "al_AAAAA-anything", t0 + 10s).blocked);
  // ...but those addresses themselves are not blocked.
  EXPECT_FALSE(t.check(address(3), token_b, t0 + 10s).blocked);
  EXPECT_FALSE(t.check(address(3), "", t0 + 10s).blocked);
}

TEST(AuthThrottle, EmptyTokenIsNotCountedByPrefix) {
  auth_throttle t;
  for (int i = 0; i < 50; ++i)
    EXPECT_FALSE(t.failure(address(i), "", t0).blocked);
  EXPECT_EQ(t.tracked(), 50u); // addresses only, no shared "" prefix
  EXPECT_FALSE(t.check("9.9.9.9", "", t0).blocked);
}

TEST(AuthThrottle, SuccessResetsTheAddressButNotThePrefix) {
  auth_throttle t;
  for (int i = 0; i < 10; ++i)
    t.failure("1.2.3.4", token_a, t0);
  t.success("1.2.3.4", t0 + 1s);
  // The address starts over: the next failure from it with a fresh prefix
  // is free again.
  auto v = t.failure("1.2.3.4", token_b, t0 + 2s);
  EXPECT_EQ(v.delay, 0ms);
  // The prefix kept its 10 failures: the 11th costs (11 - 5) * 250 ms.
  v = t.failure("5.6.7.8", token_a, t0 + 2s);
  EXPECT_EQ(v.delay, 1500ms);
}

TEST(AuthThrottle, SuccessDoesNotLiftAnActiveBlock) {
  auth_throttle t;
  for (int i = 0; i < 20; ++i)
    t.failure("1.2.3.4", "", t0);
  t.success("1.2.3.4", t0 + 1s);
  EXPECT_TRUE(t.check("1.2.3.4", "", t0 + 1s).blocked);
}

TEST(AuthThrottle, WindowExpiryForgetsOldFailures) {
  auth_throttle t; // 60 s window from the first failure
  for (int i = 0; i < 19; ++i)
    t.failure("1.2.3.4", token_a, t0 + 1s * i);
  // 19 failures inside the window; the window ends at t0 + 60 s.
  auto v = t.failure("1.2.3.4", token_a, t0 + 60s);
  EXPECT_FALSE(v.blocked);
  EXPECT_EQ(v.delay, 0ms); // counted as the first of a new window
  EXPECT_FALSE(t.check("1.2.3.4", token_a, t0 + 61s).blocked);

  // Just inside the window it would have blocked.
  auth_throttle u;
  for (int i = 0; i < 19; ++i)
    u.failure("1.2.3.4", token_a, t0);
  EXPECT_TRUE(u.failure("1.2.3.4", token_a, t0 + 59s).blocked);
}

TEST(AuthThrottle, CheckForgetsExpiredKeys) {
  auth_throttle t;
  t.failure("1.2.3.4", token_a, t0);
  ASSERT_EQ(t.tracked(), 2u); // address and prefix
  EXPECT_FALSE(t.check("1.2.3.4", token_a, t0 + 60s).blocked);
  EXPECT_EQ(t.tracked(), 0u);
}

TEST(AuthThrottle, MemoryIsBoundedUnderAFloodOfAddresses) {
  throttle_policy p;
  p.max_keys = 8;
  p.free_failures = 0; // so a delay shows the count: 250 ms per failure
  auth_throttle t{p};
  for (int i = 0; i < 10000; ++i) {
    t.failure(address(i), "tok" + std::to_string(i), t0 + 1ms * i);
    ASSERT_LE(t.tracked(), 8u) << i;
  }
  EXPECT_EQ(t.tracked(), 8u);
  // The newest keys are the ones kept: address 9999 has its second failure,
  // address 0 was evicted long ago and starts from one.
  EXPECT_EQ(t.failure(address(9999), "", t0 + 10s).delay, 500ms);
  EXPECT_EQ(t.failure(address(0), "", t0 + 10s).delay, 250ms);
  EXPECT_EQ(t.tracked(), 8u);
}

TEST(AuthThrottle, FloodEvictsExpiredThenOldestButKeepsBlockedKeys) {
  throttle_policy p;
  p.max_keys = 8;
  auth_throttle t{p};
  for (int i = 0; i < 20; ++i)
    t.failure("6.6.6.6", "", t0);
  ASSERT_TRUE(t.check("6.6.6.6", "", t0).blocked);
  // Three stale keys from long ago, expired by the time of the flood.
  for (int i = 0; i < 3; ++i)
    t.failure("old" + std::to_string(i), "", t0);
  ASSERT_EQ(t.tracked(), 4u);

  for (int i = 0; i < 10000; ++i) {
    t.failure(address(i), "", t0 + 61s + 1ms * i);
    ASSERT_LE(t.tracked(), 8u);
    if (i == 3) { // the stale keys went first: blocked + 4 new
      EXPECT_EQ(t.tracked(), 5u);
    }
  }
  // The blocked key outlived a flood of fresher, unblocked keys.
  EXPECT_TRUE(t.check("6.6.6.6", "", t0 + 62s).blocked);
}

TEST(AuthThrottle, DisabledPolicyNeverBlocksOrDelays) {
  for (int block_after : {0, -1}) {
    throttle_policy p;
    p.block_after = block_after;
    EXPECT_FALSE(p.enabled());
    auth_throttle t{p};
    for (int i = 0; i < 100; ++i) {
      auto v = t.failure("1.2.3.4", token_a, t0);
      EXPECT_FALSE(v.blocked);
      EXPECT_EQ(v.delay, 0ms);
    }
    EXPECT_FALSE(t.check("1.2.3.4", token_a, t0).blocked);
    EXPECT_EQ(t.tracked(), 0u);
    EXPECT_EQ(t.blocked_total(), 0u);
  }
}

TEST(AuthThrottle, ConcurrentFailuresCountExactly) {
  constexpr int threads = 4;
  constexpr int per_thread = 250;
  throttle_policy p;
  p.free_failures = 0;
  p.block_after = threads * per_thread + 1;
  p.delay_step = 1ms;
  p.max_delay = 1h;
  auth_throttle t{p};

  // Each failure sees its own count as its delay in ms: with no lost
  // updates the delays are exactly 1..1000, each once.
  std::vector<std::vector<long long>> seen(threads);
  std::vector<std::thread> pool;
  for (int k = 0; k < threads; ++k)
    pool.emplace_back([&t, &seen, k] {
      for (int i = 0; i < per_thread; ++i)
        seen[k].push_back(t.failure("1.2.3.4", token_a, t0).delay.count());
    });
  for (auto& th : pool)
    th.join();

  std::vector<long long> all;
  for (auto& s : seen)
    all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), std::size_t{threads * per_thread});
  for (std::size_t i = 0; i < all.size(); ++i)
    ASSERT_EQ(all[i], static_cast<long long>(i + 1));

  // The next one is failure number block_after.
  EXPECT_TRUE(t.failure("1.2.3.4", token_a, t0).blocked);
  EXPECT_EQ(t.blocked_total(), 1u);
}

TEST(AuthThrottle, ConcurrentBlocksAreCountedOnce) {
  throttle_policy p;
  p.block_after = 100;
  auth_throttle t{p};
  std::vector<std::thread> pool;
  for (int k = 0; k < 4; ++k)
    pool.emplace_back([&t, k] {
      for (int i = 0; i < 100; ++i) {
        t.failure(address(k), "", t0);
        t.check(address(k), "", t0);
      }
    });
  for (auto& th : pool)
    th.join();
  // Per thread: its 100th failure blocked (one 429) and the check right
  // after it answered 429 (another); nothing earlier did.
  EXPECT_EQ(t.blocked_total(), 4u + 4u);
  for (int k = 0; k < 4; ++k)
    EXPECT_TRUE(t.check(address(k), "", t0).blocked);
}

TEST(AuthThrottle, ClampsNonsensePolicy) {
  throttle_policy p;
  p.free_failures = -3;
  p.window = 0s;
  p.block_for = -5s;
  p.max_keys = 0;
  auth_throttle t{p};
  EXPECT_EQ(t.policy().free_failures, 0);
  EXPECT_EQ(t.policy().window, 1s);
  EXPECT_EQ(t.policy().block_for, 1s);
  EXPECT_EQ(t.policy().max_keys, 1u);
  EXPECT_EQ(t.failure("1.2.3.4", "", t0).delay, 250ms);
}

} // namespace
} // namespace al
