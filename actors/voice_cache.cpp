#include "actors/voice_cache.hpp"

#include "core/mulaw.hpp"
#include "core/tts.hpp"

namespace al {

namespace prompts {
const char* const default_greeting
  = "שלום, הגעתם למשרד התיווך. לקנייה הקישו 1, להשכרה 2, למכירה 3, "
    "או ספרו לנו במה נוכל לעזור.";
const char* const ask_callback = "תודה. מתי יהיה לכם נוח שנחזור אליכם?";
const char* const goodbye = "תודה רבה! נציג יחזור אליכם בהקדם. להתראות.";
const char* const didnt_hear = "סליחה, לא שמעתי. אפשר לחזור על זה?";
const char* const fallback
  = "מצטערים, הייתה תקלה בשיחה. אנא השאירו הודעה אחרי הצליל ונחזור אליכם.";
const char* const voicemail
  = "כל הנציגים עסוקים כרגע. אנא השאירו הודעה אחרי הצליל ונחזור אליכם.";
} // namespace prompts

audio_ptr voice_cache::synth(const std::string& text) {
  auto audio = synthesize_mulaw(text);
  if (!audio || audio->empty()) {
    // Never leave a caller in silence because synthesis failed: 200 ms of
    // comfort silence keeps the stream alive and the dialogue moving.
    return std::make_shared<const std::string>(10 * mulaw::frame_bytes,
                                               static_cast<char>(mulaw::silence));
  }
  return std::make_shared<const std::string>(std::move(*audio));
}

voice_pack_ptr voice_cache::get(std::int64_t business_id,
                                const std::string& greeting_text) {
  const std::string& text = greeting_text.empty()
                              ? std::string{prompts::default_greeting}
                              : greeting_text;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = packs_.find(business_id);
    if (i != packs_.end() && i->second->greeting_text == text)
      return i->second;
  }
  // Synthesise outside the lock (espeak has its own lock).
  auto pack = std::make_shared<voice_pack>();
  pack->greeting_text = text;
  pack->greeting = synth(text);
  std::lock_guard<std::mutex> guard{mtx_};
  if (!ask_callback_) {
    ask_callback_ = synth(prompts::ask_callback);
    goodbye_ = synth(prompts::goodbye);
    didnt_hear_ = synth(prompts::didnt_hear);
  }
  pack->ask_callback = ask_callback_;
  pack->goodbye = goodbye_;
  pack->didnt_hear = didnt_hear_;
  packs_[business_id] = pack;
  return pack;
}

std::size_t voice_cache::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return packs_.size();
}

} // namespace al
