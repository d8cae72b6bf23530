#include "actors/metrics.hpp"

#include <prometheus/text_serializer.h>

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace al {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08,
          0.16,  0.32,   0.64,  1.28, 2.56, 5.12};
}

} // namespace

metrics::metrics()
  : registry(std::make_shared<prometheus::Registry>())
  , http_requests(BuildCounter()
                    .Name("al_http_requests_total")
                    .Help("HTTP requests by route and status")
                    .Register(*registry))
  , http_latency(BuildHistogram()
                   .Name("al_http_request_duration_seconds")
                   .Help("HTTP request latency by route")
                   .Register(*registry))
  , whatsapp_messages(BuildCounter()
                        .Name("al_whatsapp_messages_total")
                        .Help("Outbound WhatsApp messages by result")
                        .Register(*registry))
  , payments(BuildCounter()
               .Name("al_payments_total")
               .Help("Payment transitions by status")
               .Register(*registry))
  , supervisor_restarts(BuildCounter()
                          .Name("al_supervisor_restarts_total")
                          .Help("Child actors restarted, by domain")
                          .Register(*registry))
  , live_actors(BuildGauge()
                  .Name("al_live_actors")
                  .Help("Live child actors by domain")
                  .Register(*registry))
  , active_calls(BuildGauge()
                   .Name("al_active_calls")
                   .Help("Calls with a live media stream")
                   .Register(*registry)
                   .Add({}))
  , media_frames_in(BuildCounter()
                      .Name("al_media_frames_in_total")
                      .Help("Inbound media frames")
                      .Register(*registry)
                      .Add({}))
  , media_frames_out(BuildCounter()
                       .Name("al_media_frames_out_total")
                       .Help("Outbound media frames")
                       .Register(*registry)
                       .Add({}))
  , late_frames(BuildCounter()
                  .Name("al_late_outbound_frames_total")
                  .Help("Outbound frames sent more than 40 ms after the last")
                  .Register(*registry)
                  .Add({}))
  , barge_ins(BuildCounter()
                .Name("al_barge_ins_total")
                .Help("Caller spoke over the agent")
                .Register(*registry)
                .Add({}))
  , engine_fallbacks(BuildCounter()
                       .Name("al_engine_fallbacks_total")
                       .Help("Calls that fell back to the local engine")
                       .Register(*registry)
                       .Add({}))
  , calls_rejected(BuildCounter()
                     .Name("al_calls_over_capacity_total")
                     .Help("Calls answered with voicemail over capacity")
                     .Register(*registry)
                     .Add({}))
  , first_audio(BuildHistogram()
                  .Name("al_first_audio_seconds")
                  .Help("Stream start to first outbound media frame")
                  .Register(*registry)
                  .Add({}, latency_buckets()))
  , turn_reply(BuildHistogram()
                 .Name("al_turn_reply_seconds")
                 .Help("Caller turn end to first reply frame")
                 .Register(*registry)
                 .Add({}, latency_buckets()))
  , webhook_latency(BuildHistogram()
                      .Name("al_webhook_duration_seconds")
                      .Help("Twilio/WhatsApp/payment webhook latency")
                      .Register(*registry)
                      .Add({}, latency_buckets()))
  , db_pool_in_use(BuildGauge()
                     .Name("al_db_pool_in_use")
                     .Help("Database connections busy")
                     .Register(*registry)
                     .Add({}))
  , db_write_queue_depth(BuildGauge()
                           .Name("al_db_write_queue_depth")
                           .Help("Queued database writes")
                           .Register(*registry)
                           .Add({}))
  , db_writes_dropped(BuildCounter()
                        .Name("al_db_writes_dropped_total")
                        .Help("Writes refused because the queue was full")
                        .Register(*registry)
                        .Add({}))
  , db_write_retries(BuildCounter()
                       .Name("al_db_write_retries_total")
                       .Help("Queued writes retried after a DB failure")
                       .Register(*registry)
                       .Add({}))
  , auth_failures(BuildCounter()
                    .Name("al_auth_failures_total")
                    .Help("Requests with an invalid bearer token (401)")
                    .Register(*registry)
                    .Add({}))
  , auth_throttled(BuildCounter()
                     .Name("al_auth_throttled_total")
                     .Help("Requests refused by the sign-in throttle (429)")
                     .Register(*registry)
                     .Add({}))
  , audit_purged(BuildCounter()
                   .Name("al_audit_rows_purged_total")
                   .Help("Audit rows deleted after AUDIT_RETENTION_DAYS")
                   .Register(*registry)
                   .Add({})) {
  for (auto d : {"call", "whatsapp", "payment", "job"}) {
    supervisor_restarts.Add({{"domain", d}});
    live_actors.Add({{"domain", d}});
  }
  for (auto r : {"sent", "failed"})
    whatsapp_messages.Add({{"result", r}});
  for (auto s : {"pending", "paid", "failed", "cancelled"})
    payments.Add({{"status", s}});
  for (auto r : {"delivered", "retried", "failed"})
    webhook_deliveries.Add({{"result", r}});
  for (auto r : {"done", "retried", "failed"})
    after_call_jobs.Add({{"result", r}});
}

void metrics::observe_request(const std::string& route, unsigned status,
                              double seconds) {
  http_requests.Add({{"route", route}, {"status", std::to_string(status)}})
    .Increment();
  http_latency.Add({{"route", route}}, latency_buckets()).Observe(seconds);
  if (route.rfind("/webhook/", 0) == 0)
    webhook_latency.Observe(seconds);
}

void metrics::restart(const std::string& domain) {
  supervisor_restarts.Add({{"domain", domain}}).Increment();
}

void metrics::whatsapp(const std::string& result) {
  whatsapp_messages.Add({{"result", result}}).Increment();
}

void metrics::payment(const std::string& status) {
  payments.Add({{"status", status}}).Increment();
}

void metrics::webhook_delivery(const std::string& result) {
  webhook_deliveries.Add({{"result", result}}).Increment();
}

namespace {

prometheus::MetricFamily
family(std::string name, std::string help, prometheus::MetricType type,
       double value, std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

/// The standard process_* metrics (Prometheus' names), from /proc/self at
/// scrape time: nothing is sampled between scrapes.
void add_process_families(std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  std::ifstream stat_file{"/proc/self/stat"};
  std::string stat;
  std::getline(stat_file, stat);
  // Fields after the command name (which may hold spaces) in parentheses.
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return;
  std::istringstream in{stat.substr(close + 2)};
  std::vector<std::string> f;
  for (std::string x; in >> x;)
    f.push_back(x);
  // f[0] is field 3 (state): field n is f[n - 3].
  if (f.size() < 22)
    return;
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  double cpu = (std::stod(f[14 - 3]) + std::stod(f[15 - 3])) / ticks;
  double start_ticks = std::stod(f[22 - 3]);
  double vsize = std::stod(f[23 - 3]);
  double rss = std::stod(f[24 - 3]) * page;
  double boot = 0;
  std::ifstream proc_stat{"/proc/stat"};
  for (std::string line; std::getline(proc_stat, line);)
    if (line.rfind("btime ", 0) == 0)
      boot = std::stod(line.substr(6));
  double fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator{"/proc/self/fd", ec};
       !ec && it != std::filesystem::directory_iterator{}; it.increment(ec))
    ++fds;
  rlimit lim{};
  double max_fds = ::getrlimit(RLIMIT_NOFILE, &lim) == 0
                     ? static_cast<double>(lim.rlim_cur)
                     : 0;
  out.push_back(family("process_cpu_seconds_total",
                       "User and system CPU time spent in seconds",
                       MetricType::Counter, cpu));
  out.push_back(family("process_resident_memory_bytes",
                       "Resident memory size in bytes", MetricType::Gauge,
                       rss));
  out.push_back(family("process_virtual_memory_bytes",
                       "Virtual memory size in bytes", MetricType::Gauge,
                       vsize));
  out.push_back(family("process_start_time_seconds",
                       "Start time of the process since the epoch in seconds",
                       MetricType::Gauge, boot + start_ticks / ticks));
  out.push_back(family("process_open_fds", "Open file descriptors",
                       MetricType::Gauge, fds));
  out.push_back(family("process_max_fds", "Maximum open file descriptors",
                       MetricType::Gauge, max_fds));
}

} // namespace

void metrics::set_build(std::string commit, std::string built_at) {
  std::lock_guard<std::mutex> g{build_mtx_};
  build_commit_ = std::move(commit);
  build_time_ = std::move(built_at);
}

std::string metrics::serialize() const {
  auto families = registry->Collect();
  try {
    add_process_families(families);
  } catch (...) {
    // /proc unreadable or odd: the service's own metrics still go out.
  }
  {
    std::lock_guard<std::mutex> g{build_mtx_};
    families.push_back(
      family("al_build_info", "The running build (always 1)",
             prometheus::MetricType::Gauge, 1,
             {{"commit", build_commit_}, {"built_at", build_time_}}));
  }
  prometheus::TextSerializer s;
  return s.Serialize(families);
}

} // namespace al
