#pragma once

// The AI voice's rendering of fixed texts (a business's greeting): one
// POST {OPENAI_API_BASE}/audio/speech per (model, voice, text), converted to
// 8 kHz mu-law and kept in the rendered_speech table (domain/calls.hpp
// names the key and stores it), so every instance plays the greeting in the
// voice the AI then speaks with, from the first frame. Rendering is
// asynchronous and never delays a call: until it lands, calls hear
// espeak-ng.

#include <cstdint>
#include <string>

namespace al {

struct config;
struct services;

/// OPENAI_API_BASE, or the REST base beside OPENAI_REALTIME_URL.
std::string openai_api_base(const config& cfg);

/// Renders `text` in `voice` and stores it under `key`, unless a rendering
/// of that key is already in flight on this instance. `business` is only
/// for the log. Needs OPENAI_API_KEY; failures are logged (the next call
/// tries again).
void render_speech(services& svc, std::int64_t business, std::string key,
                   std::string voice, std::string text);

} // namespace al
