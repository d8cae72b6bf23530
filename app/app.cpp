#include "app/app.hpp"

#include "app/compose.hpp"

#include "actors/after_call.hpp"
#include "actors/audio_jobs.hpp"
#include "actors/audit.hpp"
#include "actors/call.hpp"
#include "actors/campaign.hpp"
#include "actors/campaign_store.hpp"
#include "actors/event_listener.hpp"
#include "actors/log.hpp"
#include "actors/message_types.hpp"
#include "actors/metrics.hpp"
#include "actors/payment.hpp"
#include "actors/secret_columns.hpp"
#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"
#include "actors/voice_cache.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "core/auth_throttle.hpp"
#include "core/secret_box.hpp"
#include "core/thread_role.hpp"
#include "core/url_builder.hpp"
#include "transport/dispatcher.hpp"
#include "transport/handlers/handlers.hpp"
#include "transport/https_client.hpp"
#include "transport/media_session.hpp"
#include "transport/realtime_client.hpp"
#include "transport/router.hpp"
#include "transport/server.hpp"
#include "transport/services.hpp"
#include "transport/speech_render.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/send.hpp>
#include <caf/thread_hook.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>

namespace al {

extern const char* const build_commit;
extern const char* const build_time;
extern const char* const build_schemas_dir;

namespace {

/// Ends the managers (their children go with them) and the event listener.
void exit_managers(services& svc) {
  auto exit = [](const auto& a) {
    if (a)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  };
  exit(svc.call_manager);
  exit(svc.whatsapp_manager);
  exit(svc.payment_manager);
  exit(svc.job_manager);
  exit(svc.events.listener);
}

/// Every thread the actor system starts (scheduler workers, its clock,
/// detached actors' threads) runs below the media I/O threads.
class worker_thread_hook : public caf::thread_hook {
public:
  void init(caf::actor_system&) override {}
  void thread_started() override {
    thread_role::name("al-caf");
    thread_role::run_as_worker();
  }
  void thread_terminates() override {}
};

caf::actor_system_config make_caf_config(int worker_nice) {
  // Before the actor system starts its threads: the process's own level
  // is the I/O threads'.
  thread_role::remember_process_priority(worker_nice);
  caf::actor_system_config cfg;
  cfg.add_thread_hook<worker_thread_hook>();
  auto cores = std::max(1u, std::thread::hardware_concurrency());
  // One scheduler thread per core; the sharing policy idles at ~0 % CPU
  // where work stealing polls (PERFORMANCE.md).
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", static_cast<size_t>(cores));
  cfg.set("logger.console", caf::atom("none"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  add_message_types(cfg);
  return cfg;
}

} // namespace

struct application::impl {
  impl(config c, std::string dir)
    : cfg(std::move(c))
    , schemas_dir(std::move(dir))
    , caf_cfg(make_caf_config(cfg.worker_nice))
    , sys(caf_cfg)
    , svc(cfg, sys, m) {}

  config cfg;
  std::string schemas_dir;
  caf::actor_system_config caf_cfg;
  caf::actor_system sys;
  metrics m;
  services svc;
  std::unique_ptr<url_builder> urls;
  voice_cache voices;
  std::unique_ptr<dispatcher> disp;
  std::unique_ptr<server> srv;
  // METRICS_PORT: /metrics alone on its own listener.
  std::unique_ptr<dispatcher> metrics_disp;
  std::unique_ptr<server> metrics_srv;
  std::uint16_t metrics_port = 0;
  std::unique_ptr<auth_throttle> throttle;
  // Declared after srv, so destroyed before it: outbound requests still
  // pending at shutdown hold responders that post to the server's
  // io_contexts, which must still exist then.
  net::io_context outbound_ioc{1};
  std::unique_ptr<https_client> http;
  std::unique_ptr<realtime_client> realtime;
  std::thread outbound_thread;
  std::uint16_t port = 0;
  std::vector<std::string> route_list;
  bool stopped = false;

  /// Purges audit rows past AUDIT_RETENTION_DAYS now and then every hour
  /// (on the outbound io thread's timer; the work runs on a store worker).
  void schedule_audit_purge(std::chrono::seconds first) {
    if (cfg.audit_retention_days <= 0)
      return;
    auto t = std::make_shared<net::steady_timer>(outbound_ioc, first);
    // No read of `stopped` here (another thread writes it): after shutdown
    // the outbound io_context is stopped and runs no handler, and a store
    // that is shutting down refuses the job.
    t->async_wait([this, t](boost::system::error_code ec) {
      if (ec)
        return;
      auto purged = std::make_shared<std::int64_t>(0);
      svc.jobs_db.run([days = cfg.audit_retention_days,
                       purged](db_tx& tx) { *purged = purge_audit(tx, days); },
                      [this, purged](const db_error&) {
                        if (*purged > 0)
                          m.audit_purged.Increment(
                            static_cast<double>(*purged));
                      });
      schedule_audit_purge(std::chrono::hours(1));
    });
  }
};

void add_all_routes(router& r, services& svc) {
  add_health_routes(r, svc);
  add_admin_routes(r, svc);
  add_crm_routes(r, svc);
  add_listing_routes(r, svc);
  add_stats_routes(r, svc);
  add_twilio_voice_routes(r, svc);
  add_whatsapp_routes(r, svc);
  add_whatsapp_inbox_routes(r, svc);
  add_payment_routes(r, svc);
  add_payment_callback_routes(r, svc);
  add_webhook_routes(r, svc);
  add_dnc_routes(r, svc);
  add_campaign_routes(r, svc);
  add_twilio_outbound_routes(r, svc);
  add_intake_routes(r, svc);
  add_sign_in_routes(r, svc);
  add_event_routes(r, svc);
  add_app_routes(r, svc);
}

application::application(config cfg, std::string schemas_dir)
  : impl_(std::make_unique<impl>(std::move(cfg), std::move(schemas_dir))) {}

application::~application() {
  shutdown();
}

services& application::svc() {
  return impl_->svc;
}

const std::vector<std::string>& application::routes() const noexcept {
  return impl_->route_list;
}

std::uint16_t application::port() const noexcept {
  return impl_->port;
}

std::uint16_t application::metrics_port() const noexcept {
  return impl_->metrics_port;
}

std::string application::start(const std::string& address) {
  auto& d = *impl_;
  auto& svc = d.svc;
  svc.build = build_info{build_commit, build_time};
  d.m.set_build(build_commit, build_time);
  if (d.cfg.web_root.empty())
    d.cfg.web_root = web_root_beside(d.schemas_dir);
  if (auto err = apply_migrations(d.cfg.database_url, d.schemas_dir);
      !err.empty())
    return err;
  // Tenant secrets: the key ring first, then refuse to run when the
  // database holds values no configured key opens, and seal values still
  // in clear (the one-time migration of rows written before encryption).
  secrets::install(d.cfg.secret_key.empty()
                     ? std::make_shared<secrets::keyring>()
                     : std::make_shared<secrets::keyring>(
                       d.cfg.secret_key, d.cfg.secret_keys_previous));
  std::string sealed;
  if (auto err = prepare_secrets(d.cfg.database_url, false, sealed);
      !err.empty())
    return err;
  if (!sealed.empty()) {
    try {
      if (d.cfg.secret_key.empty())
        spdlog::warn("{}", sealed);
      else
        spdlog::info("{}", sealed);
    } catch (...) {
    }
  }
  auto urls = url_builder::parse(d.cfg.public_base_url);
  if (!urls)
    return "invalid PUBLIC_BASE_URL";
  d.urls = std::make_unique<url_builder>(std::move(*urls));
  svc.urls = d.urls.get();
  d.http = std::make_unique<https_client>(d.outbound_ioc);
  svc.http = d.http.get();
  d.realtime = std::make_unique<realtime_client>(d.outbound_ioc);
  svc.realtime = d.realtime.get();
  d.outbound_thread = std::thread([&d] {
    thread_role::name("al-http-out");
    thread_role::run_as_worker();
    auto guard = net::make_work_guard(d.outbound_ioc);
    d.outbound_ioc.run();
  });
  svc.db = store::start(
    d.sys, store_options{d.cfg.database_url, d.cfg.db_pool_size}, &d.m);
  svc.jobs_db = store::start(d.sys, store_options{d.cfg.database_url, 2}, &d.m);
  svc.voices = &d.voices;
  d.voices.get(1, ""); // the default greeting is ready before any call
  // Call actors ring this instance's after-call job actor when they hang up.
  auto after_call = std::make_shared<after_call_bell>();
  {
    auto env = std::make_shared<call_env>(*make_call_env(svc));
    env->after_call = after_call;
    svc.calls = std::move(env);
  }
  // The domain managers, each with the recipe of its children.
  svc.call_manager = spawn_call_manager(d.sys, svc.call_stats, &d.m, svc.calls);
  start_whatsapp(svc); // svc.whatsapp and svc.whatsapp_manager
  svc.outbound = make_outbound_env(svc); // follow-up calls
  svc.payments = make_payment_env(svc);
  svc.payment_manager = spawn_payment_manager(d.sys, svc.payment_stats, &d.m,
                                              svc.payments);
  svc.job_manager = spawn_supervisor(d.sys, svc.job_stats, &d.m);
  // Background jobs are started here, each as a child of job_manager.
  {
    // Transcript and summary after every call (durable, retried jobs).
    auto env = std::make_shared<after_call_env>();
    env->db = svc.jobs_db;
    env->m = &d.m;
    env->bell = after_call;
    env->http = [&svc](outbound_request req,
                       std::function<void(outbound_response)> done) {
      svc.http->send(std::move(req), std::move(done));
    };
    auto& o = env->opts;
    o.openai_api_base = openai_api_base(d.cfg);
    o.openai_api_key = d.cfg.openai_api_key;
    o.text_model = d.cfg.openai_text_model;
    // STT_API_BASE and STT_API_KEY default together to OpenAI's: the
    // OpenAI key never goes to an own (e.g. self-hosted Whisper) server,
    // which gets STT_API_KEY or no Authorization at all.
    if (!d.cfg.stt_api_base.empty()) {
      o.stt_api_base = d.cfg.stt_api_base;
      o.stt_api_key = d.cfg.stt_api_key;
    } else {
      o.stt_api_key = d.cfg.stt_api_key.empty() ? d.cfg.openai_api_key
                                                : d.cfg.stt_api_key;
      o.stt_api_base = o.stt_api_key.empty() ? std::string{}
                                             : o.openai_api_base;
    }
    o.stt_model = d.cfg.stt_model;
    o.recordings_dir = d.cfg.recordings_dir;
    o.poll_interval = d.cfg.after_call_poll;
    o.lease = d.cfg.after_call_lease;
    o.retry_base = d.cfg.after_call_retry_base;
    o.settle = d.cfg.after_call_settle;
    o.http_timeout = d.cfg.after_call_http_timeout;
    o.max_attempts = d.cfg.after_call_max_attempts;
    supervise_blocking(d.sys, svc.job_manager, make_after_call_spec(env));
  }
  start_webhook_delivery(svc); // the outbox of outgoing webhooks
  {
    // Follow-up campaigns: the manager takes running campaigns by lease and
    // dials through the Calls API; a finished dial wakes its campaign.
    // Twilio's callbacks (handlers/twilio_outbound.cpp) free slots too.
    svc.outbound->on_dial_finished = [](std::int64_t id) {
      wake_campaigns(id);
    };
    // The engine dials with the webhooks' settings, on the jobs' store.
    auto dial_env = std::make_shared<outbound_env>(*svc.outbound);
    dial_env->db = svc.jobs_db;
    auto o = std::make_shared<campaign_engine_options>();
    o->db = svc.jobs_db;
    o->m = &d.m;
    svc.campaign_instance = campaign_instance_id();
    o->instance = svc.campaign_instance;
    o->dial = [dial_env](outbound_dial dl,
                         std::function<void(outbound_dial_result)> done) {
      place_outbound_call(*dial_env, std::move(dl), std::move(done));
    };
    o->scan = d.cfg.campaign_scan;
    o->tick = d.cfg.campaign_tick;
    o->campaign_lease = d.cfg.campaign_lease;
    o->dial_lease = d.cfg.dial_lease;
    o->global_cap = d.cfg.outbound_max_calls;
    o->holiday_closures = d.cfg.holiday_closures;
    svc.campaign_stats = std::make_shared<campaign_engine_stats>();
    supervise_blocking(d.sys, svc.job_manager,
                       campaign_manager_spec(o, svc.campaign_stats));
  }
  start_wa_media_fetcher(svc); // inbound WhatsApp media, in the background
  {
    // Call audio: retention, and the one-time import of RECORDINGS_DIR.
    audio_job_options audio;
    audio.recordings_dir = d.cfg.recordings_dir;
    audio.retention_days = d.cfg.audio_retention_days;
    supervise_blocking(d.sys, svc.job_manager,
                       audio_jobs_spec(svc.jobs_db, &d.m, std::move(audio)));
  }
  // One LISTEN connection per instance wakes its live event streams.
  svc.events.stats = std::make_shared<event_listener_stats>();
  listener_options events_db;
  events_db.url = d.cfg.database_url;
  svc.events.listener = spawn_event_listener(d.sys, events_db,
                                             svc.events.stats);
  throttle_policy policy;
  policy.free_failures = d.cfg.auth_fail_free;
  policy.block_after = d.cfg.auth_fail_block_after;
  policy.window = d.cfg.auth_fail_window;
  policy.block_for = d.cfg.auth_block;
  if (policy.enabled()) {
    d.throttle = std::make_unique<auth_throttle>(policy);
    svc.throttle = d.throttle.get();
  }
  svc.defer = [&ioc = d.outbound_ioc](std::chrono::milliseconds delay,
                                      std::function<void()> fn) {
    auto t = std::make_shared<net::steady_timer>(ioc, delay);
    t->async_wait([t, fn = std::move(fn)](boost::system::error_code) { fn(); });
  };

  router r;
  add_all_routes(r, svc);
  if (!r.rejected().empty()) {
    // Two handlers for one method + path: a merge mistake. Refuse to run.
    std::string all;
    for (auto& dup : r.rejected())
      all += (all.empty() ? "" : ", ") + dup;
    try {
      spdlog::critical("route registered twice: {}", all);
    } catch (...) {
    }
    return "route registered twice: " + all;
  }
  for (auto& rt : r.routes())
    d.route_list.push_back(std::string{http::to_string(rt.method)} + " "
                           + rt.pattern);
  d.disp = std::make_unique<dispatcher>(std::move(r), &d.m);
  add_media_websocket(*d.disp, svc);
  d.srv = std::make_unique<server>(*d.disp, d.cfg.io_threads);
  try {
    d.port = d.srv->listen(address, d.cfg.port);
  } catch (const std::exception& e) {
    return "cannot listen on port " + std::to_string(d.cfg.port) + ": "
           + e.what();
  }
  d.srv->start();
  if (d.cfg.metrics_port) {
    router mr;
    add_metrics_route(mr, svc);
    d.metrics_disp = std::make_unique<dispatcher>(std::move(mr), nullptr);
    d.metrics_srv = std::make_unique<server>(*d.metrics_disp, 1, "al-metrics",
                                             false);
    try {
      d.metrics_port = d.metrics_srv->listen(address, *d.cfg.metrics_port);
    } catch (const std::exception& e) {
      d.metrics_srv.reset();
      return "cannot listen on METRICS_PORT "
             + std::to_string(*d.cfg.metrics_port) + ": " + e.what();
    }
    d.metrics_srv->start();
  }
  d.schedule_audit_purge(std::chrono::seconds(5));
  svc.started = true;
  spdlog::info("agentlocator {} listening on :{} (public {}; io threads {},"
               " scheduling {})",
               build_commit, d.port, d.cfg.public_base_url, d.cfg.io_threads,
               thread_role::describe());
  return {};
}

void application::shutdown() {
  auto& d = *impl_;
  if (d.stopped)
    return;
  if (!d.srv) {
    // start() failed before the server existed (or never ran): stop what
    // it did start, so that the threads do not outlive the application.
    d.stopped = true;
    if (d.svc.db)
      d.svc.db.shutdown(std::chrono::seconds(1));
    if (d.svc.jobs_db)
      d.svc.jobs_db.shutdown(std::chrono::seconds(1));
    if (d.http)
      d.http->shutdown();
    d.outbound_ioc.stop();
    if (d.outbound_thread.joinable())
      d.outbound_thread.join();
    exit_managers(d.svc);
    return;
  }
  d.stopped = true;
  d.svc.draining = true;
  d.srv->stop_accepting();
  // Live calls may finish on their own until the drain timeout.
  auto deadline = std::chrono::steady_clock::now() + d.cfg.drain_timeout;
  while (d.svc.call_stats.live.load() > 0
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  d.srv->drain();
  auto close_deadline = std::chrono::steady_clock::now()
                        + std::chrono::seconds(5);
  while (d.srv->connections() > 0
         && std::chrono::steady_clock::now() < close_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  d.svc.db.shutdown(std::chrono::seconds(5));
  d.svc.jobs_db.shutdown(std::chrono::seconds(2));
  d.srv->stop();
  if (d.metrics_srv) {
    d.metrics_srv->stop_accepting();
    d.metrics_srv->drain();
    d.metrics_srv->stop();
  }
  d.http->shutdown();
  d.outbound_ioc.stop();
  if (d.outbound_thread.joinable())
    d.outbound_thread.join();
  exit_managers(d.svc);
  // Every actor is gone before the services they use are destroyed.
  d.sys.await_all_actors_done();
}

namespace {

/// `%J`: the message, escaped for a JSON string.
class json_message_flag : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char hex[] = "0123456789abcdef";
    for (char c : std::string_view{msg.payload.data(), msg.payload.size()}) {
      auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 15]};
        dest.append(esc, esc + 6);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

/// `%F`: the fields of the live log_scopes (actors/log.hpp) as JSON
/// members: request_id, route, status, ms, call_sid, business_id, ...
class json_fields_flag : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string fields;
    log_scope::append_json(fields);
    dest.append(fields.data(), fields.data() + fields.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_fields_flag>();
  }
};

} // namespace

void setup_logging(const config& cfg, bool to_stderr) {
  auto logger = to_stderr ? spdlog::stderr_logger_mt("agentlocator")
                          : spdlog::stdout_logger_mt("agentlocator");
  if (cfg.log_format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>(
      spdlog::pattern_time_type::utc);
    f->add_flag<json_message_flag>('J')
      .add_flag<json_fields_flag>('F')
      .set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%J"%F})");
    logger->set_formatter(std::move(f));
  } else
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(cfg.log_level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  // A failing sink must never throw into a request path.
  spdlog::set_error_handler([](const std::string&) {});
}

std::string web_root_beside(const std::string& schemas_dir) {
  namespace fs = std::filesystem;
  auto dir = fs::path(schemas_dir);
  if (!dir.has_filename()) // "schemas/"
    dir = dir.parent_path();
  return (dir.parent_path() / "web").string();
}

std::string find_schemas_dir(const char* argv0) {
  namespace fs = std::filesystem;
  if (auto env = std::getenv("SCHEMAS_DIR"))
    return env;
  if (fs::is_directory("schemas"))
    return "schemas";
  std::error_code ec;
  auto p = fs::weakly_canonical(fs::path(argv0), ec).parent_path();
  for (int i = 0; i < 4 && !p.empty(); ++i, p = p.parent_path())
    if (fs::is_directory(p / "schemas"))
      return (p / "schemas").string();
  return build_schemas_dir; // the source tree it was built from
}

} // namespace al
