#pragma once

// Every Prometheus metric of the service, created once at start-up. The
// counters are thread-safe; any thread may update them.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <mutex>
#include <string>

#include <memory>
#include <string>

namespace al {

struct metrics {
  metrics();

  std::shared_ptr<prometheus::Registry> registry;

  prometheus::Family<prometheus::Counter>& http_requests;
  prometheus::Family<prometheus::Histogram>& http_latency;
  prometheus::Family<prometheus::Counter>& whatsapp_messages;
  prometheus::Family<prometheus::Counter>& payments;
  prometheus::Family<prometheus::Counter>& supervisor_restarts;
  prometheus::Family<prometheus::Gauge>& live_actors;

  prometheus::Gauge& active_calls;
  prometheus::Counter& media_frames_in;
  prometheus::Counter& media_frames_out;
  prometheus::Counter& late_frames;
  prometheus::Counter& barge_ins;
  prometheus::Counter& engine_fallbacks;
  prometheus::Counter& calls_rejected;
  prometheus::Histogram& first_audio;
  prometheus::Histogram& turn_reply;
  prometheus::Histogram& webhook_latency;
  prometheus::Gauge& db_pool_in_use;
  prometheus::Gauge& db_write_queue_depth;
  prometheus::Counter& db_writes_dropped;
  prometheus::Counter& db_write_retries;
  prometheus::Counter& auth_failures;  // 401s for a presented, invalid token
  prometheus::Counter& auth_throttled; // 429s of the sign-in throttle
  prometheus::Counter& audit_purged;   // audit rows past retention
  /// al_webhook_deliveries_total{result=delivered|retried|failed}
  /// (actors/webhook_delivery.cpp); built here so the constructor's list
  /// stays as it is.
  prometheus::Family<prometheus::Counter>& webhook_deliveries
    = prometheus::BuildCounter()
        .Name("al_webhook_deliveries_total")
        .Help("Outgoing webhook attempts by result")
        .Register(*registry);
  /// al_audio_objects_purged_total: call audio objects deleted after
  /// AUDIO_RETENTION_DAYS (actors/audio_jobs.cpp).
  prometheus::Counter& audio_purged
    = prometheus::BuildCounter()
        .Name("al_audio_objects_purged_total")
        .Help("Call audio objects deleted after AUDIO_RETENTION_DAYS")
        .Register(*registry)
        .Add({});
  /// al_after_call_jobs_total{result=done|retried|failed}: after-call jobs
  /// (transcript + summary) by outcome (actors/after_call.cpp).
  prometheus::Family<prometheus::Counter>& after_call_jobs
    = prometheus::BuildCounter()
        .Name("al_after_call_jobs_total")
        .Help("After-call jobs (transcript and summary) by outcome")
        .Register(*registry);
  /// Follow-up calls (actors/outbound_call.cpp):
  /// al_outbound_dials_total{result=placed|opted_out|no_number|rejected|
  /// error}, al_amd_detections_total{answered_by=human|machine_end_beep|...}
  /// and al_followup_outcomes_total{outcome=answered|completed|voicemail|
  /// busy|no_answer|failed|opted_out} (the webhooks' transitions).
  prometheus::Family<prometheus::Counter>& outbound_dials
    = prometheus::BuildCounter()
        .Name("al_outbound_dials_total")
        .Help("Outbound follow-up dials by result")
        .Register(*registry);
  prometheus::Family<prometheus::Counter>& amd_detections
    = prometheus::BuildCounter()
        .Name("al_amd_detections_total")
        .Help("Answering-machine detection results by AnsweredBy")
        .Register(*registry);
  prometheus::Family<prometheus::Counter>& followup_outcomes
    = prometheus::BuildCounter()
        .Name("al_followup_outcomes_total")
        .Help("Follow-up call outcomes set by Twilio's callbacks")
        .Register(*registry);
  /// The campaign engine (actors/campaign.cpp): al_campaign_dials_total
  /// {result=claimed|failed|expired|opted_out} (rows claimed for a dial, dials
  /// that could not be placed, dials whose lease ran out without a callback,
  /// due rows found on the do-not-contact list) and al_speed_to_lead_seconds
  /// (a speed-to-lead lead's creation to its first dial).
  prometheus::Family<prometheus::Counter>& campaign_dials
    = prometheus::BuildCounter()
        .Name("al_campaign_dials_total")
        .Help("Campaign engine dial claims by result")
        .Register(*registry);
  prometheus::Histogram& speed_to_lead
    = prometheus::BuildHistogram()
        .Name("al_speed_to_lead_seconds")
        .Help("Seconds from a new lead to its first speed-to-lead dial")
        .Register(*registry)
        .Add({}, prometheus::Histogram::BucketBoundaries{
                   1, 2, 5, 10, 20, 30, 60, 120, 300, 900, 3600});

  /// Records one HTTP answer.
  void observe_request(const std::string& route, unsigned status,
                       double seconds);

  void restart(const std::string& domain);
  void whatsapp(const std::string& result);
  void payment(const std::string& status);
  void webhook_delivery(const std::string& result);

  /// The build for al_build_info{commit,built_at}.
  void set_build(std::string commit, std::string built_at);

  /// The Prometheus text exposition of everything, with the process_*
  /// metrics (CPU, memory, file descriptors, start time) read at the call.
  std::string serialize() const;

private:
  mutable std::mutex build_mtx_;
  std::string build_commit_;
  std::string build_time_;
};

} // namespace al
