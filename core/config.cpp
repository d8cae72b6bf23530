#include "core/config.hpp"

#include "core/crypto.hpp"
#include "core/phone.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace al {

namespace {

struct bad_value {
  std::string message;
};

std::optional<long long> to_integer(const std::string& s) {
  if (s.empty() || s.size() > 18)
    return std::nullopt;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

class reader {
public:
  explicit reader(const env_lookup& lookup)
    : lookup_(lookup) {}

  void text(const char* name, std::string& out) {
    if (auto v = lookup_(name))
      out = *v;
  }

  /// Comma-separated, blanks trimmed, empty items dropped; set but empty
  /// means an empty list.
  void list(const char* name, std::vector<std::string>& out) {
    auto v = lookup_(name);
    if (!v)
      return;
    out.clear();
    std::size_t start = 0;
    while (start <= v->size()) {
      auto end = v->find(',', start);
      if (end == std::string::npos)
        end = v->size();
      auto item = v->substr(start, end - start);
      auto a = item.find_first_not_of(" \t");
      auto b = item.find_last_not_of(" \t");
      if (a != std::string::npos)
        out.push_back(item.substr(a, b - a + 1));
      start = end + 1;
    }
  }

  template <class T>
  void integer(const char* name, long long lo, long long hi, T& out) {
    auto v = lookup_(name);
    if (!v)
      return;
    auto n = to_integer(*v);
    if (!n || *n < lo || *n > hi)
      throw bad_value{fmt::format("invalid {}: expected an integer in [{}, {}]",
                                  name, lo, hi)};
    out = static_cast<T>(*n);
  }

  void seconds(const char* name, long long lo, long long hi,
               std::chrono::seconds& out) {
    long long n = out.count();
    integer(name, lo, hi, n);
    out = std::chrono::seconds{n};
  }

  void boolean(const char* name, bool& out) {
    auto v = lookup_(name);
    if (!v)
      return;
    std::string s;
    for (char c : *v)
      s.push_back(
        static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (s == "1" || s == "true" || s == "yes" || s == "on")
      out = true;
    else if (s == "0" || s == "false" || s == "no" || s == "off" || s.empty())
      out = false;
    else
      throw bad_value{fmt::format("invalid {}: expected true or false", name)};
  }

  void choice(const char* name, std::initializer_list<const char*> allowed,
              std::string& out) {
    auto v = lookup_(name);
    if (!v)
      return;
    for (auto a : allowed)
      if (*v == a) {
        out = *v;
        return;
      }
    std::string list;
    for (auto a : allowed)
      list += (list.empty() ? "" : ", ") + std::string{a};
    throw bad_value{fmt::format("invalid {}: expected one of {}", name, list)};
  }

  void base_url(const char* name, std::string& out, bool ws_ok = false) {
    auto v = lookup_(name);
    if (!v)
      return;
    std::string s = *v;
    while (!s.empty() && s.back() == '/')
      s.pop_back();
    auto ok = s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0
              || (ws_ok
                  && (s.rfind("ws://", 0) == 0 || s.rfind("wss://", 0) == 0));
    auto scheme_end = s.find("://");
    if (!ok || scheme_end == std::string::npos || s.size() <= scheme_end + 3
        || s.find_first_of(" \t\r\n\"<>") != std::string::npos)
      throw bad_value{fmt::format("invalid {}: expected an absolute {} URL",
                                  name, ws_ok ? "ws(s)/http(s)" : "http(s)")};
    out = s;
  }

private:
  const env_lookup& lookup_;
};

} // namespace

std::string config::signing_key() const {
  if (!secret_key.empty())
    return secret_key;
  // Instances sharing a deployment share these secrets, so every instance
  // derives the same key and any instance can verify a token.
  return crypto::sha256("agentlocator-signing:" + twilio_auth_token + ":"
                        + admin_token + ":" + database_url);
}

bool engine_wants_openai(bool have_key, std::string_view global,
                         std::string_view business) {
  if (!have_key)
    return false;
  if (business == "openai" || business == "local")
    return business == "openai";
  return global != "local"; // auto: the key decides
}

bool config::wants_openai(std::string_view business_engine) const {
  return engine_wants_openai(!openai_api_key.empty(), voice_engine,
                             business_engine);
}

config_result load_config(const env_lookup& lookup) {
  config cfg;
  try {
    reader r{lookup};
    r.integer("PORT", 0, 65535, cfg.port);
    cfg.public_base_url = fmt::format("http://127.0.0.1:{}", cfg.port);
    r.base_url("PUBLIC_BASE_URL", cfg.public_base_url);
    r.text("DATABASE_URL", cfg.database_url);
    r.integer("DB_POOL_SIZE", 1, 64, cfg.db_pool_size);
    r.text("TWILIO_ACCOUNT_SID", cfg.twilio_account_sid);
    r.text("TWILIO_AUTH_TOKEN", cfg.twilio_auth_token);
    r.base_url("TWILIO_API_BASE", cfg.twilio_api_base);
    r.choice("WHATSAPP_DEFAULT_PROVIDER", {"twilio", "meta"},
             cfg.whatsapp_default_provider);
    r.text("META_WA_TOKEN", cfg.meta_wa_token);
    r.text("META_WA_PHONE_ID", cfg.meta_wa_phone_id);
    r.base_url("META_API_BASE", cfg.meta_api_base);
    r.text("META_APP_SECRET", cfg.meta_app_secret);
    r.text("META_VERIFY_TOKEN", cfg.meta_verify_token);
    r.text("TWILIO_WHATSAPP_FROM", cfg.twilio_whatsapp_from);
    if (auto n = normalize_phone(cfg.twilio_whatsapp_from))
      cfg.twilio_whatsapp_from = whatsapp_address(*n);
    else
      throw bad_value{"invalid TWILIO_WHATSAPP_FROM: expected whatsapp:+E.164"};
    long long wa_timeout_ms = cfg.whatsapp_provider_timeout.count();
    r.integer("WHATSAPP_PROVIDER_TIMEOUT_MS", 100, 60000, wa_timeout_ms);
    cfg.whatsapp_provider_timeout = std::chrono::milliseconds{wa_timeout_ms};
    r.seconds("WHATSAPP_IDLE_TIMEOUT_S", 1, 86400, cfg.whatsapp_idle_timeout);
    r.integer("WHATSAPP_RATE_PER_MIN", 1, 100000, cfg.whatsapp_rate_per_min);
    r.integer("WA_MEDIA_MAX_BYTES", 1024, 100LL * 1024 * 1024,
              cfg.wa_media_max_bytes);
    for (auto [name, out] :
         {std::pair{"WA_MEDIA_POLL_MS", &cfg.wa_media_poll},
          std::pair{"WA_MEDIA_RETRY_BASE_MS", &cfg.wa_media_retry_base}}) {
      long long ms = out->count();
      r.integer(name, 1, 86400000, ms);
      *out = std::chrono::milliseconds{ms};
    }
    r.text("OPENAI_API_KEY", cfg.openai_api_key);
    r.base_url("OPENAI_REALTIME_URL", cfg.openai_realtime_url, true);
    r.text("OPENAI_MODEL", cfg.openai_model);
    r.choice("VOICE_ENGINE", {"auto", "local", "openai"}, cfg.voice_engine);
    r.base_url("OPENAI_API_BASE", cfg.openai_api_base);
    r.text("OPENAI_VOICE", cfg.openai_voice);
    r.text("OPENAI_TTS_MODEL", cfg.openai_tts_model);
    r.text("OPENAI_TEXT_MODEL", cfg.openai_text_model);
    long long wa_ai_debounce_ms = cfg.wa_ai_debounce.count();
    r.integer("WA_AI_DEBOUNCE_MS", 0, 600000, wa_ai_debounce_ms);
    cfg.wa_ai_debounce = std::chrono::milliseconds{wa_ai_debounce_ms};
    long long wa_ai_timeout_ms = cfg.wa_ai_timeout.count();
    r.integer("WA_AI_TIMEOUT_MS", 100, 120000, wa_ai_timeout_ms);
    cfg.wa_ai_timeout = std::chrono::milliseconds{wa_ai_timeout_ms};
    r.base_url("STT_API_BASE", cfg.stt_api_base);
    r.text("STT_API_KEY", cfg.stt_api_key);
    r.text("STT_MODEL", cfg.stt_model);
    if (cfg.stt_model.empty())
      throw bad_value{"invalid STT_MODEL: must not be empty"};
    auto after_call_ms = [&r](const char* name, long long lo, long long hi,
                              std::chrono::milliseconds& out) {
      long long ms = out.count();
      r.integer(name, lo, hi, ms);
      out = std::chrono::milliseconds{ms};
    };
    after_call_ms("AFTER_CALL_POLL_MS", 10, 3600000, cfg.after_call_poll);
    std::chrono::seconds lease_s{cfg.after_call_lease.count() / 1000};
    r.seconds("AFTER_CALL_LEASE_S", 1, 86400, lease_s);
    cfg.after_call_lease = lease_s;
    after_call_ms("AFTER_CALL_RETRY_BASE_MS", 1, 86400000,
                  cfg.after_call_retry_base);
    after_call_ms("AFTER_CALL_SETTLE_MS", 0, 86400000, cfg.after_call_settle);
    after_call_ms("AFTER_CALL_HTTP_TIMEOUT_MS", 100, 600000,
                  cfg.after_call_http_timeout);
    r.integer("AFTER_CALL_MAX_ATTEMPTS", 1, 100, cfg.after_call_max_attempts);
    r.text("SAY_VOICE", cfg.say_voice);
    r.choice("AMD_UNKNOWN_AS", {"human", "machine"}, cfg.amd_unknown_as);
    r.integer("OUTBOUND_RING_S", 5, 600, cfg.outbound_ring_s);
    r.seconds("SILENCE_REPROMPT_S", 1, 600, cfg.silence_reprompt);
    r.boolean("HOLIDAY_CLOSURES", cfg.holiday_closures);
    r.boolean("PAYMENTS_ENABLED", cfg.payments_enabled);
    r.text("PAYPAL_CLIENT_ID", cfg.paypal_client_id);
    r.text("PAYPAL_SECRET", cfg.paypal_secret);
    r.base_url("PAYPAL_API_BASE", cfg.paypal_api_base);
    r.text("PAYPAL_WEBHOOK_ID", cfg.paypal_webhook_id);
    r.text("TRANZILA_TERMINAL", cfg.tranzila_terminal);
    r.base_url("TRANZILA_BASE", cfg.tranzila_base);
    long long payment_ms = cfg.payment_timeout.count();
    r.integer("PAYMENT_PROVIDER_TIMEOUT_MS", 100, 60000, payment_ms);
    cfg.payment_timeout = std::chrono::milliseconds{payment_ms};
    r.text("ADMIN_TOKEN", cfg.admin_token);
    r.text("DEPLOY_ID", cfg.deploy_id);
    r.seconds("WS_PING_INTERVAL_S", 1, 3600, cfg.ws_ping_interval);
    r.seconds("WS_IDLE_TIMEOUT_S", 1, 86400, cfg.ws_idle_timeout);
    r.choice("LOG_FORMAT", {"text", "json"}, cfg.log_format);
    r.choice("LOG_LEVEL", {"trace", "debug", "info", "warn", "error"},
             cfg.log_level);
    r.text("RECORDINGS_DIR", cfg.recordings_dir);
    r.text("WEB_ROOT", cfg.web_root);
    r.integer("MAX_LIVE_CALLS", 0, 1000000, cfg.max_live_calls);
    long long start_ms = cfg.start_timeout.count();
    r.integer("CALL_START_TIMEOUT_MS", 100, 600000, start_ms);
    cfg.start_timeout = std::chrono::milliseconds{start_ms};
    r.seconds("DRAIN_TIMEOUT_S", 0, 86400, cfg.drain_timeout);
    r.integer("IO_THREADS", 1, 64, cfg.io_threads);
    r.integer("WORKER_NICE", 0, 19, cfg.worker_nice);
    r.text("SECRET_KEY", cfg.secret_key);
    r.list("SECRET_KEYS_PREVIOUS", cfg.secret_keys_previous);
    if (!cfg.secret_key.empty() && cfg.secret_key.size() < 32)
      throw bad_value{"invalid SECRET_KEY: use at least 32 characters"
                      " (openssl rand -base64 32)"};
    for (auto& k : cfg.secret_keys_previous)
      if (k.size() < 32)
        throw bad_value{"invalid SECRET_KEYS_PREVIOUS: every key has at least"
                        " 32 characters"};
    if (cfg.secret_key.empty() && !cfg.secret_keys_previous.empty())
      throw bad_value{"SECRET_KEYS_PREVIOUS needs SECRET_KEY (the current"
                      " key)"};
    if (cfg.secret_key.empty() && cfg.public_base_url.rfind("https://", 0) == 0)
      throw bad_value{"SECRET_KEY is required when PUBLIC_BASE_URL is https"
                      " (it signs call tokens and encrypts tenant secrets;"
                      " openssl rand -base64 32)"};
    if (lookup("METRICS_PORT")) {
      std::uint16_t mp = 0;
      r.integer("METRICS_PORT", 0, 65535, mp);
      cfg.metrics_port = mp;
    }
    r.text("METRICS_TOKEN", cfg.metrics_token);
    r.list("TRUSTED_PROXIES", cfg.trusted_proxies);
    r.integer("AUTH_FAIL_FREE", 0, 1000000, cfg.auth_fail_free);
    r.integer("AUTH_FAIL_BLOCK_AFTER", 0, 1000000, cfg.auth_fail_block_after);
    r.seconds("AUTH_FAIL_WINDOW_S", 1, 86400, cfg.auth_fail_window);
    r.seconds("AUTH_BLOCK_S", 1, 86400, cfg.auth_block);
    r.integer("AUDIT_RETENTION_DAYS", 0, 36500, cfg.audit_retention_days);
    r.integer("AUDIO_RETENTION_DAYS", 0, 36500, cfg.audio_retention_days);
    long long webhook_poll_ms = cfg.webhook_poll.count();
    r.integer("WEBHOOK_POLL_MS", 50, 600000, webhook_poll_ms);
    cfg.webhook_poll = std::chrono::milliseconds{webhook_poll_ms};
    std::chrono::seconds webhook_s{60};
    r.seconds("WEBHOOK_LEASE_S", 15, 3600, webhook_s);
    cfg.webhook_lease = webhook_s;
    webhook_s = std::chrono::seconds{30};
    r.seconds("WEBHOOK_RETRY_BASE_S", 1, 3600, webhook_s);
    cfg.webhook_retry_base = webhook_s;
    webhook_s = std::chrono::seconds{86400};
    r.seconds("WEBHOOK_GIVE_UP_S", 60, 30 * 86400, webhook_s);
    cfg.webhook_give_up = webhook_s;
    for (auto [name, out] :
         {std::pair{"CAMPAIGN_SCAN_MS", &cfg.campaign_scan},
          std::pair{"CAMPAIGN_TICK_MS", &cfg.campaign_tick}}) {
      long long ms = out->count();
      r.integer(name, 10, 600000, ms);
      *out = std::chrono::milliseconds{ms};
    }
    r.seconds("CAMPAIGN_LEASE_S", 2, 3600, cfg.campaign_lease);
    r.seconds("DIAL_LEASE_S", 2, 86400, cfg.dial_lease);
    r.integer("OUTBOUND_MAX_CALLS", 1, 50, cfg.outbound_max_calls);
    if (cfg.recordings_dir.empty())
      throw bad_value{"invalid RECORDINGS_DIR: must not be empty"};
  } catch (const bad_value& e) {
    return e.message;
  }
  return cfg;
}

std::vector<std::string> config_variable_names() {
  std::vector<std::string> names;
  load_config([&names](const std::string& name) -> std::optional<std::string> {
    if (std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(name);
    return std::nullopt;
  });
  return names;
}

bool secret_variable(std::string_view name) {
  for (auto part : {"TOKEN", "SECRET", "KEY", "PASSWORD"})
    if (name.find(part) != std::string_view::npos)
      return true;
  return false;
}

std::variant<std::map<std::string, std::string>, std::string>
parse_dotenv(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in{text};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#')
      continue;
    line = line.substr(first);
    if (line.rfind("export ", 0) == 0)
      line = line.substr(7);
    auto eq = line.find('=');
    auto key = line.substr(0, eq);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t'))
      key.pop_back();
    bool key_ok = eq != std::string::npos && !key.empty();
    for (char c : key)
      key_ok = key_ok
               && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!key_ok)
      return fmt::format(".env line {}: expected KEY=VALUE", number);
    auto value = line.substr(eq + 1);
    auto vfirst = value.find_first_not_of(" \t");
    value = vfirst == std::string::npos ? "" : value.substr(vfirst);
    if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
      auto q = value.front();
      auto close = value.find(q, 1);
      if (close == std::string::npos)
        return fmt::format(".env line {}: unterminated quote in {}", number,
                           key);
      value = value.substr(1, close - 1);
    } else {
      auto hash = value.find(" #");
      if (hash != std::string::npos)
        value = value.substr(0, hash);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.pop_back();
    }
    out[key] = value;
  }
  return out;
}

std::variant<env_lookup, std::string>
process_env(const std::string& dotenv_path) {
  std::map<std::string, std::string> file_values;
  std::ifstream in{dotenv_path};
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = parse_dotenv(ss.str());
    if (auto err = std::get_if<std::string>(&parsed))
      return *err;
    file_values = std::get<0>(std::move(parsed));
  }
  return env_lookup{[file_values = std::move(file_values)](
                      const std::string& key) -> std::optional<std::string> {
    if (auto v = std::getenv(key.c_str()))
      return std::string{v};
    if (auto i = file_values.find(key); i != file_values.end())
      return i->second;
    return std::nullopt;
  }};
}

} // namespace al
