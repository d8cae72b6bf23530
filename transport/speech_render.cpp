#include "transport/speech_render.hpp"

#include "actors/log.hpp"
#include "actors/voice_cache.hpp"
#include "core/config.hpp"
#include "core/realtime_wire.hpp"
#include "core/tts.hpp"
#include "core/wav.hpp"
#include "domain/calls.hpp"
#include "transport/https_client.hpp"
#include "transport/services.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <mutex>
#include <set>

namespace al {

namespace {

std::mutex in_flight_mtx;
std::set<std::string> in_flight; // keys being rendered on this instance

void done_with(const std::string& key) {
  std::lock_guard<std::mutex> g{in_flight_mtx};
  in_flight.erase(key);
}

bool header_is(const outbound_response& r, std::string_view name,
               std::string_view prefix) {
  for (auto& [k, v] : r.headers) {
    if (k.size() != name.size())
      continue;
    bool same = true;
    for (std::size_t i = 0; i < k.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(k[i]))
             == std::tolower(static_cast<unsigned char>(name[i]));
    if (same)
      return v.rfind(prefix, 0) == 0;
  }
  return false;
}

/// The speech endpoint's answer as 8 kHz mu-law: raw 24 kHz PCM as asked
/// (response_format "pcm"), or any container libsndfile reads when a
/// compatible server answers with WAV/MP3/... instead.
std::optional<std::string> to_mulaw(const outbound_response& r) {
  if (r.body.empty() || header_is(r, "Content-Type", "application/json")
      || header_is(r, "Content-Type", "text/"))
    return std::nullopt; // an error document, not audio
  bool container = r.body.rfind("RIFF", 0) == 0 || r.body.rfind("OggS", 0) == 0
                   || r.body.rfind("fLaC", 0) == 0
                   || r.body.rfind("ID3", 0) == 0
                   || header_is(r, "Content-Type", "audio/wav")
                   || header_is(r, "Content-Type", "audio/mpeg")
                   || header_is(r, "Content-Type", "audio/ogg");
  if (container) {
    std::string err;
    return decode_audio_as_mulaw(r.body, 120, err);
  }
  return pcm16_as_mulaw(r.body, 24000);
}

} // namespace

std::string openai_api_base(const config& cfg) {
  if (!cfg.openai_api_base.empty())
    return cfg.openai_api_base;
  return openai_rest_url(cfg.openai_realtime_url, "");
}

void render_speech(services& svc, std::int64_t business, std::string key,
                   std::string voice, std::string text) {
  if (svc.cfg.openai_api_key.empty() || !svc.http || text.empty())
    return;
  auto base = openai_api_base(svc.cfg);
  if (base.empty())
    return;
  {
    std::lock_guard<std::mutex> g{in_flight_mtx};
    if (!in_flight.insert(key).second)
      return;
  }
  outbound_request req;
  req.method = "POST";
  req.url = base + "/audio/speech";
  req.headers.emplace_back("Authorization", "Bearer " + svc.cfg.openai_api_key);
  req.headers.emplace_back("Content-Type", "application/json");
  boost::json::object body{{"model", svc.cfg.openai_tts_model},
                           {"input", text},
                           {"voice", voice},
                           {"response_format", "pcm"}};
  if (svc.cfg.openai_tts_model != "tts-1"
      && svc.cfg.openai_tts_model != "tts-1-hd")
    body["instructions"] = "Speak Hebrew warmly and clearly, like a friendly"
                           " office receptionist on the phone.";
  req.body = boost::json::serialize(body);
  req.timeout = std::chrono::seconds(30);
  log_safe(spdlog::level::info,
           "business {}: rendering the greeting in voice {}", business, voice);
  svc.http->send(std::move(req), [&svc, business, key, voice,
                                  text](outbound_response r) {
    auto audio = r.ok() ? to_mulaw(r) : std::nullopt;
    if (!audio || audio->empty()) {
      // Neither the body nor the headers: they may echo the key.
      log_safe(spdlog::level::warn,
               "business {}: greeting not rendered ({} {}); espeak-ng stays",
               business, r.status, r.error);
      return done_with(key);
    }
    pad_to_frames(*audio);
    domain::calls::store_rendering(
      svc.db, key, voice, text, std::move(*audio),
      [&svc, business, key](domain::calls::write_result w) {
        done_with(key);
        if (!w.status.ok()) {
          log_safe(spdlog::level::warn,
                   "business {}: rendered greeting not stored: {}", business,
                   w.failure);
          return;
        }
        // The next call of this business loads it (other instances within
        // a few seconds, voice_cache::find).
        if (svc.voices)
          svc.voices->forget(business);
        log_safe(spdlog::level::info,
                 "business {}: greeting rendered in the AI voice", business);
      });
  });
}

} // namespace al
