// core/thread_role: workers run below the thread that remembered the
// process's level (the one that starts the I/O threads), never above.

#include "core/thread_role.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <pthread.h>
#include <sched.h>
#include <string>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace {

struct level {
  int policy = 0;
  int priority = 0;
  int nice = 0;
};

level current() {
  level l;
  sched_param p{};
  pthread_getschedparam(pthread_self(), &l.policy, &p);
  l.priority = p.sched_priority;
  l.nice = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
  return l;
}

} // namespace

TEST(thread_role, workers_run_just_below_the_process_level) {
  auto before = current();
  al::thread_role::remember_process_priority(3);
  // The remembering thread keeps its level whoever asks.
  EXPECT_TRUE(al::thread_role::run_as_worker());
  auto main_after = current();
  EXPECT_EQ(main_after.policy, before.policy);
  EXPECT_EQ(main_after.priority, before.priority);
  EXPECT_EQ(main_after.nice, before.nice);

  level worker;
  level again;
  bool ok = false;
  std::thread t{[&] {
    al::thread_role::name("al-test-worker");
    ok = al::thread_role::run_as_worker();
    worker = current();
    al::thread_role::run_as_worker(); // idempotent: not one step lower
    again = current();
  }};
  t.join();
  ASSERT_TRUE(ok);
  std::string text = al::thread_role::describe();
  if (before.policy == SCHED_RR || before.policy == SCHED_FIFO) {
    EXPECT_EQ(worker.policy, before.policy);
    EXPECT_EQ(worker.priority, std::max(before.priority - 1,
                                        sched_get_priority_min(before.policy)));
    EXPECT_NE(text.find("workers"), std::string::npos) << text;
  } else {
    EXPECT_EQ(worker.policy, before.policy);
    EXPECT_EQ(worker.nice, std::min(19, before.nice + 3));
    EXPECT_EQ(text.rfind("normal", 0), 0u) << text;
  }
  EXPECT_EQ(again.priority, worker.priority);
  EXPECT_EQ(again.nice, worker.nice);

  // A second record keeps the first (the process's level is set once).
  al::thread_role::remember_process_priority(10);
  EXPECT_EQ(al::thread_role::describe(), text);
}
