#include "actors/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace al {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64,
          1.28, 2.56, 5.12};
}

} // namespace

metrics::metrics()
  : registry(std::make_shared<prometheus::Registry>()),
    http_requests(BuildCounter()
                    .Name("al_http_requests_total")
                    .Help("HTTP requests by route and status")
                    .Register(*registry)),
    http_latency(BuildHistogram()
                   .Name("al_http_request_duration_seconds")
                   .Help("HTTP request latency by route")
                   .Register(*registry)),
    whatsapp_messages(BuildCounter()
                        .Name("al_whatsapp_messages_total")
                        .Help("Outbound WhatsApp messages by result")
                        .Register(*registry)),
    payments(BuildCounter()
               .Name("al_payments_total")
               .Help("Payment transitions by status")
               .Register(*registry)),
    supervisor_restarts(BuildCounter()
                          .Name("al_supervisor_restarts_total")
                          .Help("Child actors restarted, by domain")
                          .Register(*registry)),
    live_actors(BuildGauge()
                  .Name("al_live_actors")
                  .Help("Live child actors by domain")
                  .Register(*registry)),
    active_calls(BuildGauge()
                   .Name("al_active_calls")
                   .Help("Calls with a live media stream")
                   .Register(*registry)
                   .Add({})),
    media_frames_in(BuildCounter()
                      .Name("al_media_frames_in_total")
                      .Help("Inbound media frames")
                      .Register(*registry)
                      .Add({})),
    media_frames_out(BuildCounter()
                       .Name("al_media_frames_out_total")
                       .Help("Outbound media frames")
                       .Register(*registry)
                       .Add({})),
    late_frames(BuildCounter()
                  .Name("al_late_outbound_frames_total")
                  .Help("Outbound frames sent more than 40 ms after the last")
                  .Register(*registry)
                  .Add({})),
    barge_ins(BuildCounter()
                .Name("al_barge_ins_total")
                .Help("Caller spoke over the agent")
                .Register(*registry)
                .Add({})),
    engine_fallbacks(BuildCounter()
                       .Name("al_engine_fallbacks_total")
                       .Help("Calls that fell back to the local engine")
                       .Register(*registry)
                       .Add({})),
    calls_rejected(BuildCounter()
                     .Name("al_calls_over_capacity_total")
                     .Help("Calls answered with voicemail over capacity")
                     .Register(*registry)
                     .Add({})),
    first_audio(BuildHistogram()
                  .Name("al_first_audio_seconds")
                  .Help("Stream start to first outbound media frame")
                  .Register(*registry)
                  .Add({}, latency_buckets())),
    turn_reply(BuildHistogram()
                 .Name("al_turn_reply_seconds")
                 .Help("Caller turn end to first reply frame")
                 .Register(*registry)
                 .Add({}, latency_buckets())),
    webhook_latency(BuildHistogram()
                      .Name("al_webhook_duration_seconds")
                      .Help("Twilio/WhatsApp/payment webhook latency")
                      .Register(*registry)
                      .Add({}, latency_buckets())),
    db_pool_in_use(BuildGauge()
                     .Name("al_db_pool_in_use")
                     .Help("Database connections busy")
                     .Register(*registry)
                     .Add({})),
    db_write_queue_depth(BuildGauge()
                           .Name("al_db_write_queue_depth")
                           .Help("Queued database writes")
                           .Register(*registry)
                           .Add({})),
    db_writes_dropped(BuildCounter()
                        .Name("al_db_writes_dropped_total")
                        .Help("Writes refused because the queue was full")
                        .Register(*registry)
                        .Add({})),
    db_write_retries(BuildCounter()
                       .Name("al_db_write_retries_total")
                       .Help("Queued writes retried after a DB failure")
                       .Register(*registry)
                       .Add({})),
    auth_failures(BuildCounter()
                    .Name("al_auth_failures_total")
                    .Help("Requests with an invalid bearer token (401)")
                    .Register(*registry)
                    .Add({})),
    auth_throttled(BuildCounter()
                     .Name("al_auth_throttled_total")
                     .Help("Requests refused by the sign-in throttle (429)")
                     .Register(*registry)
                     .Add({})),
    audit_purged(BuildCounter()
                   .Name("al_audit_rows_purged_total")
                   .Help("Audit rows deleted after AUDIT_RETENTION_DAYS")
                   .Register(*registry)
                   .Add({})) {
  for (auto d : {"call", "whatsapp", "payment"}) {
    supervisor_restarts.Add({{"domain", d}});
    live_actors.Add({{"domain", d}});
  }
  for (auto r : {"sent", "failed"})
    whatsapp_messages.Add({{"result", r}});
  for (auto s : {"pending", "paid", "failed", "cancelled"})
    payments.Add({{"status", s}});
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

std::string metrics::serialize() const {
  prometheus::TextSerializer s;
  return s.Serialize(registry->Collect());
}

} // namespace al
