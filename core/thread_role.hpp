#pragma once

// Thread names and priorities: the media I/O threads (which pace every
// caller's audio on 20 ms deadlines) run at the process's own priority;
// every other thread (the actor scheduler and its clock, the database
// workers, the outbound HTTP thread, the metrics listener) runs just below
// them, so a burst of domain work never makes a frame late.
//
// Only ever lowers a thread's priority, so it needs no privilege:
// - a process started real-time (SCHED_RR or SCHED_FIFO: a systemd unit's
//   CPUSchedulingPolicy=rr, bench/run.sh as root) keeps its priority P on
//   the I/O threads and runs the others at P-1 of the same policy;
// - a process under the normal scheduler keeps everything at its nice
//   value unless `worker_nice` (WORKER_NICE) asks to raise the others'.

namespace al::thread_role {

/// Records the calling thread's policy and priority as the process's own
/// (the I/O threads' level). Call once in main, before other threads start;
/// later calls keep the first record.
void remember_process_priority(int worker_nice);

/// Names the calling thread (Linux keeps 15 characters); never throws.
void name(const char* name) noexcept;

/// Runs the calling thread just below the I/O threads (see above); a
/// no-op before remember_process_priority() or when nothing is to lower.
/// Idempotent. Returns false when the system refused the change.
bool run_as_worker() noexcept;

/// What run_as_worker() does in this process, for the start-up log:
/// e.g. "SCHED_RR 20 (workers 19)" or "normal (workers nice +0)".
const char* describe() noexcept;

} // namespace al::thread_role
