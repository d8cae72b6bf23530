#include "core/thread_role.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace al::thread_role {
namespace {

struct process_level {
  int policy = SCHED_OTHER;
  int priority = 0; // the real-time priority, 0 for SCHED_OTHER
  int nice = 0;
  // What a worker gets, derived once: the real-time priority one step
  // below (never under the policy's minimum), or the nice value.
  int worker_priority = 0;
  int worker_nice = 0;
  pthread_t main_thread{}; // the one that remembered: it starts the others
  char text[64] = "unknown";
};

process_level g_level;
std::atomic<bool> g_known{false};

bool real_time(int policy) {
  return policy == SCHED_RR || policy == SCHED_FIFO;
}

} // namespace

void remember_process_priority(int worker_nice) {
  bool expected = false;
  if (g_known.load(std::memory_order_acquire))
    return;
  process_level l;
  sched_param p{};
  if (pthread_getschedparam(pthread_self(), &l.policy, &p) == 0)
    l.priority = p.sched_priority;
  l.nice = getpriority(PRIO_PROCESS, 0);
  l.worker_nice = l.nice + std::max(worker_nice, 0);
  l.main_thread = pthread_self();
  if (real_time(l.policy)) {
    l.worker_priority = std::max(l.priority - 1,
                                 sched_get_priority_min(l.policy));
    std::snprintf(l.text, sizeof l.text, "%s %d (workers %d)",
                  l.policy == SCHED_RR ? "SCHED_RR" : "SCHED_FIFO", l.priority,
                  l.worker_priority);
  } else {
    std::snprintf(l.text, sizeof l.text, "normal (workers nice %+d)",
                  l.worker_nice);
  }
  g_level = l;
  g_known.compare_exchange_strong(expected, true, std::memory_order_release);
}

void name(const char* n) noexcept {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s", n);
  pthread_setname_np(pthread_self(), buf);
}

bool run_as_worker() noexcept {
  if (!g_known.load(std::memory_order_acquire))
    return true;
  const auto& l = g_level;
  // Threads inherit their creator's priority: the thread that starts the
  // I/O threads stays at the process's level whoever asks.
  if (pthread_equal(pthread_self(), l.main_thread))
    return true;
  if (real_time(l.policy)) {
    if (l.worker_priority == l.priority)
      return true;
    sched_param p{};
    p.sched_priority = l.worker_priority;
    return pthread_setschedparam(pthread_self(), l.policy, &p) == 0;
  }
  if (l.worker_nice == l.nice)
    return true;
  // On Linux the nice value belongs to the thread: PRIO_PROCESS with the
  // thread's id changes this thread alone.
  auto tid = static_cast<id_t>(syscall(SYS_gettid));
  return setpriority(PRIO_PROCESS, tid, l.worker_nice) == 0;
}

const char* describe() noexcept {
  return g_known.load(std::memory_order_acquire) ? g_level.text : "unknown";
}

} // namespace al::thread_role
